#pragma once
// The attribution methods by name (eval.attributions), without libtorch: the schema reads
// them in aimrun too. aim/attribution.cpp's make_attributions makes one of each.
#include <string>
#include <vector>

namespace aim::model {

const std::vector<std::string>& attribution_names();

}  // namespace aim::model
