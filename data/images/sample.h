#pragma once
// One sample of an image dataset as its reader found it on disk, and how it is decoded:
// the RGB image and its ground-truth region at the file's own resolution.
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace aim::data {

struct Box {
  double x = 0, y = 0, w = 0, h = 0;  // top-left corner and size, in pixels
};

struct Sample {
  std::string path;  // image file
  int64_t label = 0;
  int64_t group = -1;
  // Ground truth: a segmentation file (pixel > mask_threshold is the object), else boxes
  // (their union), else none.
  std::string mask_path;
  int mask_threshold = 0;
  std::vector<Box> boxes;
  // Size of the image the boxes were drawn on (ILSVRC XML records it); 0: the file's own.
  // Boxes are rescaled when the decoded image has another size.
  double box_frame_width = 0, box_frame_height = 0;
};

struct DecodedSample {
  cv::Mat rgb;     // CV_8UC3, RGB
  cv::Mat region;  // CV_8UC1, 1 = object; empty when not asked for
};

// Decodes a sample; with `with_region` also its ground truth (all zero when it has none).
// Throws aim::DataError naming the file that is missing or cannot be decoded.
DecodedSample decode_sample(const Sample& s, bool with_region);

// The union of `boxes` (scaled from the frame to width x height) as a 0/1 mask.
cv::Mat rasterise_boxes(const std::vector<Box>& boxes, double frame_width, double frame_height, int width,
                        int height);

}  // namespace aim::data
