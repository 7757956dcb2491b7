#include "runner/run_pictures.h"

#include "runner/pictures.h"

#include <cstdio>
#include <numeric>

#include "core/files.h"
#include "results/run_record.h"

namespace aim {

namespace {

// The line under a sample's row: its mask confidence (masking models), else p(prediction).
std::string sample_note(const results::SplitResult& split, int64_t i) {
  char buf[96];
  if (has_mask_confidence(split))
    std::snprintf(buf, sizeof buf, "mask conf %.2f (margin %.2f, agree %.2f)", picture_scores(split)[i],
                  split.per_sample.at(results::kMaskMargin)[i], split.per_sample.at(results::kMaskAgreement)[i]);
  else
    std::snprintf(buf, sizeof buf, "p(pred) %.2f", split.per_sample.at("confidence")[i]);
  return buf;
}

}  // namespace

bool has_mask_confidence(const results::SplitResult& split) {
  return split.per_sample.count(results::kMaskConfidence) > 0;
}

const std::vector<float>& picture_scores(const results::SplitResult& split) {
  return split.per_sample.at(has_mask_confidence(split) ? results::kMaskConfidence : "confidence");
}

void write_run_pictures(const RunPaths& paths, model::Model& model, const data::DatasetSplits& splits,
                        const results::RunRecord& record, const EvalOptions& eval, size_t rows) {
  // The test split if there is one, else the last evaluated split.
  const results::SplitResult* split = nullptr;
  for (const auto& s : record.splits)
    if (!split || s.split == "test") split = &s;
  if (!split || !splits.splits.count(split->split)) return;
  const auto& ds = splits.at(split->split);
  PictureOptions po;
  po.explain_true_class = eval.explain_true_class;
  po.attributions.clear();
  for (const auto& a : eval.attributions)
    if (a != "mask") po.attributions.push_back(a);  // the mask has its own column
  auto draw = [&](const std::string& name, const std::vector<int64_t>& idx) {
    std::vector<std::string> notes;
    for (auto i : idx) notes.push_back(sample_note(*split, i));
    ensure_dir(paths.pictures());
    write_picture_grid(paths.pictures() + "/" + split->split + "_" + name + ".png", model, ds, idx, notes, po);
  };
  std::vector<int64_t> first(std::min<size_t>(rows, size_t(ds.size())));
  std::iota(first.begin(), first.end(), 0);
  draw("first", first);
  draw("least_confident", lowest(picture_scores(*split), rows));
}

}  // namespace aim
