#pragma once
// YAML nodes as text, the one place yaml-cpp's emitter is used:
// - yaml_flow_text: one value as one line: a scalar as written, null as "~", a list or map
//   in flow style ("[1, 2]", "{name: aim}"). The one spelling of a value that config keys,
//   sweep axes and the report's groups show and compare, and a checkpoint's state.
// - yaml_block_text: a document in block style, ending with a newline (a run's config.yaml,
//   whose text the run id hashes; a sweep's submissions.yaml).
#include <string>

namespace YAML {
class Node;
}

namespace aim {

std::string yaml_flow_text(const YAML::Node& node);
std::string yaml_block_text(const YAML::Node& node);

}  // namespace aim
