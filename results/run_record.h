#pragma once
// Everything a run reports, as plain data: the trainer fills it, run_file.cpp writes it to
// HDF5 (layout: docs/hdf5-schema.md), the report reads it back.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace aim::results {

// Names of the per-sample arrays of mask confidence (SplitResult::per_sample of masking
// models), written by evaluation and read by the trainer's pictures, `aimrun pictures` and
// the report: confidence = margin x agreement (docs/evaluation.md).
inline constexpr const char* kMaskConfidence = "mask_confidence";
inline constexpr const char* kMaskMargin = "mask_margin";
inline constexpr const char* kMaskAgreement = "mask_agreement";

// Root attributes (and summary numbers) of a run whose training went non-finite: the values
// of the evaluated weights that are NaN or inf, and the epochs whose mean training loss was.
// Absent in files written before they existed (read as 0: not known to be non-finite).
inline constexpr const char* kNonfiniteWeights = "nonfinite_weights";
inline constexpr const char* kNonfiniteLossEpochs = "nonfinite_loss_epochs";

// Version of the HDF5 layout; bumped on every change, and readers accept the old ones.
constexpr int64_t kSchemaVersion = 2;  // 2: gradcam on the decision map, explain/select, group EPG

// Per-epoch training curves: one value per completed epoch in every series.
struct Curves {
  std::vector<int64_t> epoch;                          // 1-based
  std::map<std::string, std::vector<double>> series;   // train_loss, train_accuracy, lr, ...
};

// Evaluations during training (every train.eval_every epochs) of one split.
struct EvalCurve {
  std::vector<int64_t> epoch;
  std::vector<double> accuracy, worst_group_accuracy, loss;
};

// Mask statistics of one masked stage, one row per epoch.
struct MaskCurve {
  int64_t stage = 0;
  std::vector<double> active_mean, active_std, target;
  std::vector<double> histogram;  // epochs x bins, row-major, fractions of samples per bin
  int64_t bins = 0;
};

// The first K samples of a split with everything needed to recompute their EPG: the image,
// the ground-truth region and every attribution map at its native resolution.
struct KeptMaps {
  std::vector<int64_t> index;     // [K] positions in the split
  int64_t height = 0, width = 0;  // image size
  std::vector<uint8_t> images;    // [K,3,H,W] RGB
  std::vector<uint8_t> regions;   // [K,H,W] ground truth (1 = inside); empty without ground truth
  struct Map {
    std::vector<uint16_t> half;   // IEEE float16 bits, each map scaled to max |value| = 1
    int64_t h = 0, w = 0;
  };
  std::map<std::string, Map> maps;  // by attribution method
  bool empty() const { return index.empty(); }
};

// The samples of a split whose masks the model was least sure about, fewest first (ties by
// position): what a run summary keeps of the per-sample confidence arrays (results/run_summary.h).
struct LeastConfident {
  std::vector<int64_t> index, label, pred;
  std::vector<float> confidence, margin, agreement;
};

// The final evaluation of one split.
struct SplitResult {
  std::string split;
  int64_t n = 0, correct = 0;
  double accuracy = 0, loss = 0;
  std::vector<std::string> group_names;  // empty when the dataset has no groups
  std::vector<int64_t> group_correct, group_count;
  double worst_group_accuracy = 0;  // NaN when there are no groups
  // Per group (with groups only): the mean of each epg_<attribution> over the group's samples
  // that have a value (NaN for a group without any); /eval/<split>/groups/epg_<attribution>.
  std::map<std::string, std::vector<double>> group_means;
  std::map<std::string, double> scalars;  // further metrics (mean mask area, EPG per method, ...)
  // Per sample, in dataset order.
  std::vector<int64_t> label, pred, group;
  std::map<std::string, std::vector<float>> per_sample;  // mask_area, epg_<method>, mask_confidence, ...
  KeptMaps kept;
  // Read from a run summary instead of per_sample (which is then empty): its least
  // confident samples (results/run_summary.h, least_confident()).
  LeastConfident least_confident;
};

// One line of the run's session ledger (<run>/sessions.jsonl): a process session's start or
// end (docs/reliability.md).
struct SessionRow {
  std::string event;  // start | end
  double time = 0;    // unix seconds
  std::string hosts, slurm, by, cause;
  int64_t exit_code = 0, checkpoint_epoch = -1, checkpoint_step = -1;
  double lost_seconds = 0;
};

struct RunRecord {
  std::string run_id;
  int64_t schema_version = kSchemaVersion;                   // of the file it was read from
  std::string config_yaml;                                   // the resolved config
  std::vector<std::pair<std::string, std::string>> config;   // key -> canonical text
  std::map<std::string, std::string> text;    // aimrun_version, torch_version, host, dataset, method, ...
  std::map<std::string, double> numbers;      // world_size, seed, train_seconds, parameters, ...
  Curves curves;
  std::map<std::string, EvalCurve> eval_curves;
  std::vector<MaskCurve> mask_curves;
  std::vector<SplitResult> splits;
  // Files a dataset left out (missing or undecodable, dataset.skip_corrupt), per split.
  std::map<std::string, std::vector<std::string>> skipped_files;
  std::vector<SessionRow> sessions;  // the session ledger up to the result (/sessions)
};

// "" for a run whose weights and training loss stayed finite (or that does not record them);
// else what was not finite: "12 weight values NaN or inf, training loss not finite in 2 epochs".
inline std::string nonfinite_description(const RunRecord& r) {
  auto get = [&](const char* k) {
    auto it = r.numbers.find(k);
    return it == r.numbers.end() ? 0.0 : it->second;
  };
  const double w = get(kNonfiniteWeights), e = get(kNonfiniteLossEpochs);
  if (!(w > 0) && !(e > 0)) return "";
  std::string s;
  if (w > 0) s = std::to_string(int64_t(w)) + " weight values NaN or inf";
  if (e > 0)
    s += (s.empty() ? "" : ", ") + std::string("training loss not finite in ") + std::to_string(int64_t(e)) +
         " epoch(s)";
  return s;
}

}  // namespace aim::results
