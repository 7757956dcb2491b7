#include "data/images/transforms.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace aim::data {

cv::Rect random_resized_crop(int height, int width, const TransformOptions& o, Rng& rng) {
  const double area = double(height) * double(width);
  const double log_lo = std::log(o.ratio_min), log_hi = std::log(o.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(o.scale_min, o.scale_max);
    const double ratio = std::exp(rng.uniform(log_lo, log_hi));
    const int w = int(std::lround(std::sqrt(target_area * ratio)));
    const int h = int(std::lround(std::sqrt(target_area / ratio)));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const int top = int(rng.below(uint64_t(height - h + 1)));
      const int left = int(rng.below(uint64_t(width - w + 1)));
      return {left, top, w, h};
    }
  }
  // Fallback: the largest centre crop whose ratio lies in the range.
  const double in_ratio = double(width) / double(height);
  int w = width, h = height;
  if (in_ratio < o.ratio_min) {
    h = std::max(1, int(std::lround(w / o.ratio_min)));
  } else if (in_ratio > o.ratio_max) {
    w = std::max(1, int(std::lround(h * o.ratio_max)));
  }
  h = std::min(h, height);
  w = std::min(w, width);
  return {(width - w) / 2, (height - h) / 2, w, h};
}

cv::Rect eval_crop(int height, int width, const TransformOptions& o) {
  // After resizing the shorter side to `resize`, a pixel spans 1/s source pixels; the
  // centre crop of image_size is then image_size/s source pixels (clamped when
  // image_size > resize, which would crop outside the image).
  const double s = double(o.resize) / double(std::min(height, width));
  const int side = std::max(1, int(std::lround(double(o.image_size) / s)));
  const int w = std::min(side, width), h = std::min(side, height);
  return {int(std::lround((width - w) / 2.0)), int(std::lround((height - h) / 2.0)), w, h};
}

Geometry train_geometry(int height, int width, const TransformOptions& o, Rng& rng) {
  Geometry g;
  g.crop = random_resized_crop(height, width, o, rng);
  g.flip = o.hflip && rng.bernoulli(0.5);
  return g;
}

Geometry eval_geometry(int height, int width, const TransformOptions& o) {
  return {eval_crop(height, width, o), false};
}

void apply_geometry(const cv::Mat& image, const cv::Mat& region, const Geometry& g, int64_t size,
                    cv::Mat& image_out, cv::Mat& region_out) {
  const cv::Size out{static_cast<int>(size), static_cast<int>(size)};
  const cv::Mat crop = image(g.crop);
  // Area averaging when shrinking avoids aliasing (like torchvision's antialiased resize);
  // bilinear when enlarging.
  const bool shrinking = g.crop.width > out.width || g.crop.height > out.height;
  cv::resize(crop, image_out, out, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  if (g.flip) cv::flip(image_out, image_out, 1);
  if (region.empty()) {
    region_out = cv::Mat();
    return;
  }
  cv::resize(region(g.crop), region_out, out, 0, 0, cv::INTER_NEAREST);
  if (g.flip) cv::flip(region_out, region_out, 1);
}

}  // namespace aim::data
