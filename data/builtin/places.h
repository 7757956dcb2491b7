#pragma once
// Procedural backgrounds ("places") for the built-in dataset: eighteen families, each with a
// distinctive colour and texture and random variation within the family, playing the role
// of Waterbirds' land and water backgrounds. Families 0-9 are the fine-tuning task's (class
// c's place is family c), 10-15 the pretraining task's, 16-17 the `ood` split's
// (docs/datasets-builtin.md); a family's drawing never changes once released.
#include <opencv2/core.hpp>

#include <string>

#include "core/random.h"

namespace aim::data {

constexpr int kNumPlaceFamilies = 18;
constexpr int kFinetuneFamilies = 10;  // 0 .. 9
constexpr int kPretrainFirstFamily = 10, kPretrainFamilies = 6;  // 10 .. 15
constexpr int kOodFirstFamily = 16, kOodFamilies = 2;             // 16 .. 17
const std::string& place_name(int family);

// Draws one background of `family` into `out` (CV_8UC3, RGB, already sized).
void draw_place(int family, Rng& rng, cv::Mat& out);

}  // namespace aim::data
