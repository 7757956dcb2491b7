// aimrun pictures: image | ground truth | attributions | mask, for chosen samples of a run.
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/files.h"
#include "data/registry.h"
#include "results/run_file.h"
#include "results/run_folder.h"
#include "runner/cli/command_list.h"
#include "runner/cli/commands.h"
#include "runner/pictures.h"
#include "runner/run_pictures.h"
#include "runner/trained_run.h"

namespace aim::cli {

namespace {

struct PicturesArgs {
  std::string run_dir;
  std::string split = "test";
  std::vector<int64_t> samples;
  int least_confident = 0;
  std::string out;
  std::vector<std::string> attributions = {"gradcam", "ixg"};
  std::string explain;  // true | predicted; empty: the run's eval.explain
  bool explain_true = false;
};

void run_pictures(const PicturesArgs& a) {
  if (!a.out.empty()) check_output_file("--out", a.out);
  auto run = load_trained_run(a.run_dir);  // its checkpoint the one its result was written with
  auto splits = data::make_datasets(run.config);
  if (!splits.splits.count(a.split)) throw Error("the run's dataset has no split '" + a.split + "'");
  const auto& ds = splits.at(a.split);
  PictureOptions po;
  po.attributions = a.attributions;
  const std::string explain = a.explain_true ? "true" : !a.explain.empty() ? a.explain : run.config.get_string("eval.explain");
  po.explain_true_class = explain == "true";
  std::vector<int64_t> idx = a.samples;
  std::vector<std::string> notes;
  if (a.least_confident > 0) {
    const RunPaths paths{a.run_dir};
    auto record = results::read_run_file(paths.result());
    for (const auto& s : record.splits) {
      if (s.split != a.split) continue;
      const auto& scores = picture_scores(s);
      for (auto i : lowest(scores, size_t(a.least_confident))) {
        idx.push_back(i);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s %.2f", has_mask_confidence(s) ? "mask conf" : "p(pred)", scores[i]);
        notes.resize(idx.size() - 1);
        notes.push_back(buf);
      }
    }
  }
  if (idx.empty()) idx = {0, 1, 2, 3, 4, 5, 6, 7};
  for (auto i : idx)
    if (i < 0 || i >= ds.size())
      throw Error("sample " + std::to_string(i) + " is outside split '" + a.split + "' (" + std::to_string(ds.size()) +
                  " samples)");
  std::string out = a.out.empty() ? RunPaths{a.run_dir}.pictures() + "/" + a.split + "_selected.png" : a.out;
  write_picture_grid(out, *run.model, ds, idx, notes, po);
  spdlog::info("wrote {} ({} samples)", out, idx.size());
}

}  // namespace

void add_pictures_command(CLI::App& app) {
  auto a = std::make_shared<PicturesArgs>();
  auto* cmd = app.add_subcommand("pictures", command_help("pictures"));
  cmd->add_option("--run", a->run_dir, "a run folder with checkpoint.pt")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--split", a->split, "dataset split");
  cmd->add_option("--samples", a->samples, "sample indices in the split (default: 0..7)");
  cmd->add_option("--least-confident", a->least_confident, "add the N samples with the least confident masks");
  cmd->add_option("--attributions", a->attributions, "heat-map columns: gradcam, gradcam_backbone, ixg");
  cmd->add_option("--explain", a->explain, "which class the maps explain: true or predicted (default: the run's eval.explain)")
      ->check(CLI::IsMember({"true", "predicted"}));
  cmd->add_flag("--explain-true", a->explain_true, "the same as --explain true");
  cmd->add_option("--out", a->out, "PNG file (default: <run>/pictures/<split>_selected.png)");
  cmd->callback([a] { run_pictures(*a); });
}

}  // namespace aim::cli
