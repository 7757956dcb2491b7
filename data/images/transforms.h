#pragma once
// The geometric transforms of the image datasets, applied to an image and its ground-truth
// region together, so that the region stays on the object (the Energy Pointing Game
// compares attributions with it pixel by pixel).
//
// Each transform is a crop rectangle in source pixels, a resize of that rectangle to the
// output size and an optional horizontal flip. The image is resized with area averaging
// (downscaling) or bilinear interpolation (upscaling), the region with nearest neighbour,
// both from the same rectangle.
#include <opencv2/core.hpp>

#include <cstdint>

#include "core/random.h"

namespace aim::data {

struct TransformOptions {
  int64_t image_size = 224;  // output side (square)
  int64_t resize = 256;      // evaluation: shorter side resized to this, then centre crop
  double scale_min = 0.08, scale_max = 1.0;        // RandomResizedCrop area fraction
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;  // RandomResizedCrop aspect ratio
  bool hflip = true;  // training: flip with probability 1/2
};

struct Geometry {
  cv::Rect crop;  // in source pixels, inside the image
  bool flip = false;
};

// torchvision's RandomResizedCrop.get_params: ten tries at a random area and log-uniform
// aspect ratio, then the centre crop with the ratio clamped to the allowed range.
cv::Rect random_resized_crop(int height, int width, const TransformOptions& o, Rng& rng);
// The source rectangle that "resize the shorter side to o.resize, centre-crop
// o.image_size" shows (computed in source pixels, so only the crop is resized).
cv::Rect eval_crop(int height, int width, const TransformOptions& o);

// Training geometry (random crop, flip) drawn from rng, or evaluation geometry.
Geometry train_geometry(int height, int width, const TransformOptions& o, Rng& rng);
Geometry eval_geometry(int height, int width, const TransformOptions& o);

// Applies `g` to an 8-bit RGB image and (when not empty) its 8-bit region mask of the same
// size, writing image_size x image_size results into `image_out` (CV_8UC3) and `region_out`
// (CV_8UC1).
void apply_geometry(const cv::Mat& image, const cv::Mat& region, const Geometry& g, int64_t size,
                    cv::Mat& image_out, cv::Mat& region_out);

}  // namespace aim::data
