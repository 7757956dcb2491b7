#pragma once
// Procedural backgrounds ("places") for the built-in dataset: ten families, each with a
// distinctive colour and texture and random variation within the family, playing the role
// of Waterbirds' land and water backgrounds.
#include <opencv2/core.hpp>

#include <string>

#include "core/random.h"

namespace aim::data {

constexpr int kNumPlaceFamilies = 10;
const std::string& place_name(int family);

// Draws one background of `family` into `out` (CV_8UC3, RGB, already sized).
void draw_place(int family, Rng& rng, cv::Mat& out);

}  // namespace aim::data
