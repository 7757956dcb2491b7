// aimrun collect DIR OUT.h5: one HDF5 file for a whole sweep.
#include <iostream>

#include "core/files.h"
#include "core/log.h"
#include "results/collection.h"
#include "runner/cli/commands.h"

namespace aim::cli {

void add_collect_command(CLI::App& app) {
  struct Args {
    std::string dir, out;
    bool link = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "collect",
      "One HDF5 file for every complete run under DIR: /runs/<run-id> holds each run's result\n"
      "exactly as in its own file (docs/hdf5-schema.md), /index lists them, /problems the runs\n"
      "left out (failed, incomplete, unreadable; they also make the exit code 3). Copies by\n"
      "default: the file is self-contained; --link writes external links instead (small, but\n"
      "the run files must stay where they are relative to OUT). aimrun report reads it too.");
  cmd->add_option("dir", args->dir, "a sweep folder or any folder of runs")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("out", args->out, "the collection to write (replaced atomically)")->required();
  cmd->add_flag("--link", args->link, "external links to the run files instead of copies");
  cmd->callback([args] {
    check_output_file("OUT", args->out);
    auto runs = results::find_runs(args->dir);
    if (auto note = results::summary_problems(runs); !note.empty()) spdlog::warn("{}", note);
    auto summary = results::collect_runs(runs, args->out, args->link);
    for (const auto& why : summary.reasons) std::cerr << why << "\n";
    spdlog::info("{}: {} runs {}{}", args->out, summary.runs, args->link ? "linked" : "copied",
                 summary.left_out.empty() ? "" : fmt::format(", {} left out (listed above)", summary.left_out.size()));
    exit_code() = summary.left_out.empty() && summary.runs > 0 ? 0 : kExitPartial;
  });
}

}  // namespace aim::cli
