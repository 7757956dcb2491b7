// aimrun report DIR: the table of a folder of runs.
#include <iostream>

#include "results/report.h"
#include "runner/cli/commands.h"
#include "runner/cli/report_html.h"

namespace aim::cli {

void add_report_command(CLI::App& app) {
  struct Args {
    std::string dir;
    std::string format = "md";
    int least_confident = 5;
    std::string compare;
    std::string html;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("report",
                                 "Table of the runs under DIR: grouped by dataset, method, backbone and every other\n"
                                 "setting that varies except the seed; mean +- std and n per metric. Incomplete,\n"
                                 "failed and unreadable runs are listed on stderr and make the exit code 3.");
  cmd->add_option("dir", args->dir,
                  "a sweep folder (<output_dir>/<sweep>), any folder of runs, or a collection (aimrun collect)")
      ->required();
  cmd->add_option("--compare", args->compare,
                  "YAML of reference numbers to put beside ours with the difference, e.g.\n"
                  "experiments/paper_numbers.yaml (the AIM paper's tables)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--format", args->format, "md, latex or csv")->check(CLI::IsMember({"md", "latex", "csv"}));
  cmd->add_option("--least-confident", args->least_confident,
                  "md: also list this many test samples with the least confident masks (0: none)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--html", args->html,
                  "write one self-contained HTML page (tables, plots, each run's pictures and config,\n"
                  "the runs not in the table) to this file instead of the table; needs python3 with\n"
                  "matplotlib (docs/results-python.md)");
  cmd->callback([args] {
    auto runs = results::find_runs(args->dir);
    results::ReportOptions options;
    options.format = args->format;
    options.least_confident = args->least_confident;
    if (!args->compare.empty()) {
      options.compare = results::load_reference(args->compare);
      options.compare_path = args->compare;
    }
    bool complete = args->html.empty() ? results::write_report(runs, options, std::cout, std::cerr)
                                       : write_html_report(args->dir, runs, options, args->html);
    exit_code() = complete ? 0 : kExitPartial;
  });
}

}  // namespace aim::cli
