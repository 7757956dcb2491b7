#include "aim/attribution_names.h"

namespace aim::model {

const std::vector<std::string>& attribution_names() {
  static const std::vector<std::string> names = {"gradcam", "gradcam_backbone", "ixg", "mask"};
  return names;
}

}  // namespace aim::model
