#pragma once
// One YAML value as one line of text: a scalar as written, null as "~", a list or map in flow
// style ("[1, 2]", "{name: aim}"). The one spelling of a value that config keys, sweep axes
// and the report's groups show and compare.
#include <string>

namespace YAML {
class Node;
}

namespace aim {

std::string yaml_flow_text(const YAML::Node& node);

}  // namespace aim
