#include "core/yaml_text.h"

#include <yaml-cpp/yaml.h>

namespace aim {

std::string yaml_flow_text(const YAML::Node& node) {
  if (node.IsNull()) return "~";
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter em;
  em << YAML::Flow << node;
  return em.c_str();
}

std::string yaml_block_text(const YAML::Node& node) {
  YAML::Emitter em;
  em << node;
  return std::string(em.c_str()) + "\n";
}

}  // namespace aim
