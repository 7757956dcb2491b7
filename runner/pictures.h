#pragma once
// PNG grids a person can check against the image: one row per sample, columns
// image | ground truth | one heat map per attribution method | the model's mask.
#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "aim/model.h"
#include "data/dataset.h"

namespace aim {

struct PictureOptions {
  std::vector<std::string> attributions = {"gradcam", "ixg"};
  bool explain_true_class = true;  // eval.explain: true
  int cell = 128;  // pixels per picture
};

// Renders the samples at `indices` of `dataset` with `model` into `path` (PNG); `notes`
// (one per row, may be empty) are printed under each row's image.
void write_picture_grid(const std::string& path, model::Model& model, const data::Dataset& dataset,
                        const std::vector<int64_t>& indices, const std::vector<std::string>& notes,
                        const PictureOptions& options);

// The indices of the `count` samples with the lowest `scores` (ties: lower index first).
inline std::vector<int64_t> lowest(const std::vector<float>& scores, size_t count) {
  std::vector<int64_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return scores[a] < scores[b]; });
  idx.resize(std::min(count, idx.size()));
  return idx;
}

}  // namespace aim
