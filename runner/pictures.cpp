#include "runner/pictures.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "aim/attribution.h"
#include "aim/metrics.h"
#include "core/error.h"
#include "core/files.h"
#include "runner/device.h"

namespace aim {

namespace {

// [3,H,W] float in [0,1] -> BGR 8-bit cell.
cv::Mat to_cell(const torch::Tensor& rgb, int cell) {
  auto hwc = rgb.permute({1, 2, 0}).mul(255).round().clamp(0, 255).to(torch::kUInt8).contiguous();
  cv::Mat m(int(hwc.size(0)), int(hwc.size(1)), CV_8UC3, hwc.data_ptr<uint8_t>());
  cv::Mat bgr, out;
  cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
  cv::resize(bgr, out, cv::Size(cell, cell), 0, 0, cv::INTER_NEAREST);
  return out;
}

// A [h,w] map at any resolution -> [cell,cell] float in [0,1] (positive part, max-scaled).
cv::Mat to_unit_map(const torch::Tensor& map, int cell, bool nearest) {
  auto m = map.to(torch::kFloat).clamp_min(0);
  float peak = m.max().item<float>();
  if (peak > 0) m = m / peak;
  m = m.contiguous();
  cv::Mat src(int(m.size(0)), int(m.size(1)), CV_32F, m.data_ptr<float>());
  cv::Mat out;
  cv::resize(src, out, cv::Size(cell, cell), 0, 0, nearest ? cv::INTER_NEAREST : cv::INTER_LINEAR);
  return out.clone();
}

cv::Mat heat_overlay(const cv::Mat& image, const cv::Mat& unit) {
  cv::Mat u8, colour, out;
  unit.convertTo(u8, CV_8U, 255.0);
  cv::applyColorMap(u8, colour, cv::COLORMAP_JET);
  cv::addWeighted(image, 0.45, colour, 0.55, 0.0, out);
  return out;
}

// The image where the mask keeps it, darkened where it drops it, with the mask's outline.
cv::Mat mask_overlay(const cv::Mat& image, const cv::Mat& unit) {
  cv::Mat keep;
  cv::threshold(unit, keep, 0.5, 1.0, cv::THRESH_BINARY);
  cv::Mat keep8;
  keep.convertTo(keep8, CV_8U, 255);
  cv::Mat dark = image * 0.25;
  cv::Mat out = dark.clone();
  image.copyTo(out, keep8);
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(keep8, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  cv::drawContours(out, contours, -1, cv::Scalar(0, 255, 255), 1);
  return out;
}

cv::Mat region_overlay(const cv::Mat& image, const torch::Tensor& region, int cell) {
  auto r = region.ne(0).to(torch::kUInt8).mul(255).contiguous();
  cv::Mat src(int(r.size(0)), int(r.size(1)), CV_8U, r.data_ptr<uint8_t>());
  cv::Mat mask;
  cv::resize(src, mask, cv::Size(cell, cell), 0, 0, cv::INTER_NEAREST);
  cv::Mat out = image * 0.35;
  image.copyTo(out, mask);
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  cv::drawContours(out, contours, -1, cv::Scalar(0, 255, 0), 1);
  return out;
}

void label(cv::Mat& canvas, const std::string& text, int x, int y, double scale = 0.4) {
  cv::putText(canvas, text, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(20, 20, 20), 1, cv::LINE_AA);
}

}  // namespace

void write_picture_grid(const std::string& path, model::Model& model, const data::Dataset& dataset,
                        const std::vector<int64_t>& indices, const std::vector<std::string>& notes,
                        const PictureOptions& o) {
  if (indices.empty()) return;
  const bool was_training = model.is_training();
  model.eval();
  const auto& info = dataset.info();
  auto batch = dataset.get_batch(indices, std::nullopt);  // pictures are drawn on the CPU
  auto on_device = batch.to(device_of(model));
  auto attributions = model::make_attributions(o.attributions, model);
  auto e = model::explain_batch(model, on_device.images, o.explain_true_class ? on_device.labels : torch::Tensor(), true);
  torch::NoGradGuard no_grad;
  auto mean = torch::tensor(info.mean).view({1, 3, 1, 1}), std = torch::tensor(info.std).view({1, 3, 1, 1});
  auto rgb = (batch.images.detach() * std + mean).clamp(0, 1);
  auto preds = e.out.logits.argmax(1).cpu();

  std::vector<std::string> columns = {"image", "ground truth"};
  for (const auto& a : attributions) columns.push_back(a->name());
  if (model.has_masks()) columns.push_back("mask");
  const int cell = o.cell, pad = 4, header = 18, footer = 28;
  const int rows = int(indices.size()), cols = int(columns.size());
  cv::Mat canvas(header + rows * (cell + footer + pad), cols * (cell + pad) + pad, CV_8UC3, cv::Scalar(255, 255, 255));
  for (int c = 0; c < cols; ++c) label(canvas, columns[c], pad + c * (cell + pad), 13, 0.45);

  for (int r = 0; r < rows; ++r) {
    int y = header + r * (cell + footer + pad);
    cv::Mat image = to_cell(rgb[r], cell);
    std::vector<cv::Mat> cells = {image};
    cells.push_back(batch.regions.defined() ? region_overlay(image, batch.regions[r], cell) : image * 0.35);
    std::vector<std::string> epg_text;
    for (const auto& a : attributions) {
      auto map = a->explain(e).detach()[r].cpu();
      cells.push_back(heat_overlay(image, to_unit_map(map, cell, false)));
      if (batch.regions.defined()) {
        double epg = model::energy_pointing_game(map.unsqueeze(0), batch.regions[r].unsqueeze(0)).item<double>();
        char buf[32];
        std::snprintf(buf, sizeof buf, "EPG %.2f", epg);
        epg_text.push_back(buf);
      }
    }
    if (model.has_masks()) cells.push_back(mask_overlay(image, to_unit_map(e.out.merged_mask.detach()[r][0].cpu(), cell, true)));
    for (int c = 0; c < cols; ++c) cells[c].copyTo(canvas(cv::Rect(pad + c * (cell + pad), y, cell, cell)));
    std::string truth = info.class_names.at(batch.labels[r].item<int64_t>());
    std::string pred = info.class_names.at(preds[r].item<int64_t>());
    label(canvas, "#" + std::to_string(indices[r]) + " " + truth + " -> " + pred, pad, y + cell + 12, 0.35);
    if (r < int(notes.size()) && !notes[r].empty()) label(canvas, notes[r], pad, y + cell + 24, 0.35);
    for (size_t k = 0; k < epg_text.size(); ++k) label(canvas, epg_text[k], pad + int(k + 2) * (cell + pad), y + cell + 12, 0.35);
  }
  // Encoded in memory, then written as every file is (each write, the fsync and the close
  // checked; the temporary file removed on error): imwrite does not see a full disk.
  std::vector<uchar> png;
  if (!cv::imencode(".png", canvas, png)) throw Error(path + ": cannot encode PNG");
  write_file_atomic(path, std::string(png.begin(), png.end()));
  model.train(was_training);
}

}  // namespace aim
