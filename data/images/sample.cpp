#include "data/images/sample.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace aim::data {

namespace {

// The file's bytes; a missing or unreadable file is an error naming it.
std::vector<uint8_t> read_bytes(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw DataError(path + ": " + what + " file is missing");
    throw DataError(path + ": cannot read " + what + " file");
  }
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// libjpeg decodes a truncated file with only a warning ("Premature end of JPEG file") and
// grey rows where the data ended: a JPEG must end with its end-of-image marker (FF D9),
// allowing for the padding some writers append.
bool truncated_jpeg(const std::vector<uint8_t>& b) {
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return false;  // not a JPEG
  const size_t from = b.size() > 4096 ? b.size() - 4096 : 1;
  for (size_t i = b.size() - 1; i > from; --i)
    if (b[i - 1] == 0xFF && b[i] == 0xD9) return false;
  return true;
}

// imdecode returns an empty matrix for a truncated or foreign file, and some codecs throw
// instead: both become an error naming the file.
cv::Mat read_image(const std::string& path, int flags, const char* what) {
  const auto bytes = read_bytes(path, what);
  if (bytes.empty()) throw DataError(path + ": " + what + " file is empty");
  if (truncated_jpeg(bytes)) throw DataError(path + ": cannot decode " + what + " (truncated JPEG: no end-of-image marker)");
  cv::Mat m;
  try {
    m = cv::imdecode(cv::Mat(1, int(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data())), flags);
  } catch (const cv::Exception& e) {
    throw DataError(path + ": cannot decode " + what + ": " + e.msg);
  }
  if (m.empty()) throw DataError(path + ": cannot decode " + what + " (corrupt, truncated or not an image)");
  return m;
}

}  // namespace

cv::Mat rasterise_boxes(const std::vector<Box>& boxes, double frame_width, double frame_height, int width,
                        int height) {
  cv::Mat mask = cv::Mat::zeros(height, width, CV_8UC1);
  const double sx = frame_width > 0 ? width / frame_width : 1.0;
  const double sy = frame_height > 0 ? height / frame_height : 1.0;
  for (const auto& b : boxes) {
    // Pixels whose area the box touches: [floor(x), ceil(x + w)).
    const int x0 = std::clamp(int(std::floor(b.x * sx)), 0, width);
    const int y0 = std::clamp(int(std::floor(b.y * sy)), 0, height);
    const int x1 = std::clamp(int(std::ceil((b.x + b.w) * sx)), 0, width);
    const int y1 = std::clamp(int(std::ceil((b.y + b.h) * sy)), 0, height);
    if (x1 > x0 && y1 > y0) mask(cv::Rect(x0, y0, x1 - x0, y1 - y0)).setTo(1);
  }
  return mask;
}

DecodedSample decode_sample(const Sample& s, bool with_region) {
  DecodedSample d;
  cv::Mat bgr = read_image(s.path, cv::IMREAD_COLOR, "image");
  cv::cvtColor(bgr, d.rgb, cv::COLOR_BGR2RGB);
  if (!with_region) return d;
  const int w = d.rgb.cols, h = d.rgb.rows;
  if (!s.mask_path.empty()) {
    cv::Mat m = read_image(s.mask_path, cv::IMREAD_GRAYSCALE, "mask");
    if (m.depth() != CV_8U) m.convertTo(m, CV_8U, m.depth() == CV_16U ? 1.0 / 257.0 : 1.0);
    cv::Mat binary = m > s.mask_threshold;  // 255 / 0
    binary /= 255;
    // Masks of real copies are occasionally stored at another size: nearest neighbour
    // keeps them binary.
    if (binary.cols != w || binary.rows != h) cv::resize(binary, binary, cv::Size(w, h), 0, 0, cv::INTER_NEAREST);
    d.region = binary;
  } else {
    d.region = rasterise_boxes(s.boxes, s.box_frame_width, s.box_frame_height, w, h);
  }
  return d;
}

}  // namespace aim::data
