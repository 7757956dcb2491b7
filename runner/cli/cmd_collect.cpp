// aimrun collect DIR OUT.h5: one HDF5 file for a whole sweep.
#include <iostream>

#include "core/files.h"
#include "core/log.h"
#include "results/collection.h"
#include "runner/cli/command_list.h"
#include "runner/cli/commands.h"

namespace aim::cli {

void add_collect_command(CLI::App& app) {
  struct Args {
    std::string dir, out;
    bool link = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "collect", command_help("collect"));
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
