#include "runner/cli/command_list.h"

#include <cstring>
#include <stdexcept>

#include "core/error.h"
#include "core/strings.h"

namespace aim::cli {

const std::vector<CommandInfo>& aimrun_commands() {
  static const std::vector<CommandInfo> commands = {
      {"train",
       "Train one run from a YAML config and write <output_dir>/runs/<run-id>/result.h5.\n"
       "Resumes from the run's checkpoint when there is one. Under mpirun or srun, every\n"
       "rank runs this command.",
       true},
      {"sweep", "Expand, run and inspect YAML sweeps (docs/sweeps.md)", false},
      {"report",
       "Table of the runs under DIR: grouped by dataset, method, backbone and every other\n"
       "setting that varies except the seed; mean +- std and n per metric; each method's\n"
       "difference from --baseline paired by seed (95% CI, p-value); with --compare,\n"
       "verdicts against reference numbers (docs/report.md). Incomplete, failed and\n"
       "unreadable runs are listed on stderr and make the exit code 3.",
       false},
      {"collect",
       "One HDF5 file for every complete run under DIR: /runs/<run-id> holds each run's result\n"
       "exactly as in its own file (docs/hdf5-schema.md), /index lists them, /problems the runs\n"
       "left out (failed, incomplete, unreadable; they also make the exit code 3). Copies by\n"
       "default: the file is self-contained; --link writes external links instead (small, but\n"
       "the run files must stay where they are relative to OUT). aimrun report reads it too.",
       false},
      {"summarize",
       "Writes <run>/summary.json for every complete run under DIR whose summary is missing\n"
       "(runs of an aimrun before summaries), fails a check, or was written for a result.h5\n"
       "whose mtime changed since (a copied folder: its bytes are then checked at every read).\n"
       "report, collect, sweep status and aimresults.py read summaries instead of result.h5.\n"
       "Runs being trained are left alone. Exit 0, or 1 when some summary could not be written.",
       false},
      {"evaluate",
       "Evaluate a trained run again from its checkpoint (e.g. eval.attributions=[gradcam] or\n"
       "eval.splits=[test] overrides, or more ranks under mpirun); writes the result file's\n"
       "/eval layout to --out (default <run>/evaluation.h5).",
       true},
      {"predict",
       "Predict with a trained run (its checkpoint) or a config with imported weights (model.weights), on a folder\n"
       "of images or an HDF5 file with a float32 NCHW dataset 'images' (already normalised). Writes logits (N x C),\n"
       "pred (N) and, for masking models, masks/stage_<l> (N x h x w, uint8) and merged_mask.",
       true},
      {"pictures",
       "PNG grid for chosen samples of a trained run: image | ground truth | one heat map per\n"
       "attribution method (with its EPG) | the model's merged mask. Training already writes\n"
       "<run>/pictures/<split>_first.png and <split>_least_confident.png.",
       true},
      {"model",
       "Parameters and FLOPs per image of the configured model (counted from the convolutions\n"
       "and matrix products a forward pass executes), and what the method adds over vanilla.",
       true},
      {"config", "List every configuration key: type, default, meaning", false},
  };
  return commands;
}

const std::string& command_help(const std::string& name) {
  for (const auto& c : aimrun_commands())
    if (c.name == name) return c.help;
  throw std::logic_error("command_help: no command '" + name + "'");
}

bool runs_in_aimrun_torch(const char* word) {
  if (!word) return false;
  for (const auto& c : aimrun_commands())
    if (c.needs_torch && c.name == word) return true;
  return false;
}

void check_command_names(CLI::App& app, int argc, char** argv) {
  CLI::App* at = &app;
  std::string path = "aimrun";
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    auto subs = at->get_subcommands([](CLI::App* sub) { return !sub->get_name().empty(); });
    if (subs.empty() || word.empty() || word[0] == '-') return;
    std::vector<std::string> names;
    CLI::App* next = nullptr;
    for (auto* sub : subs) {
      names.push_back(sub->get_name());
      if (sub->check_name(word)) next = sub;
    }
    if (!next) {
      const std::string hint = closest_match(word, names);
      throw ConfigError("unknown command '" + word + "'" + (hint.empty() ? "" : "; did you mean '" + hint + "'?") +
                        "\n  the commands of " + path + ": " + join(names, ", ") + " (" + path + " --help)");
    }
    at = next;
    path += " " + word;
  }
}

}  // namespace aim::cli
