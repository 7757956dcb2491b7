// aimrun report DIR: the table of a folder of runs.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/strings.h"
#include "results/report.h"
#include "results/run_groups.h"
#include "results/run_summary.h"
#include "runner/cli/command_list.h"
#include "runner/cli/commands.h"
#include "runner/cli/report_html.h"
#include "runner/sweep/search_report.h"
#include "runner/sweep/seed_rounds.h"
#include "runner/sweep/sweep_spec.h"

namespace aim::cli {

namespace fs = std::filesystem;

namespace {

struct ReportArgs {
  std::string dir;
  std::string format = "md";
  int least_confident = 5;
  std::string compare;
  std::string html;
  std::string seeds;
  std::string search;
  double margin = 2;
  std::string baseline = "vanilla";
  std::vector<std::string> where;
  std::string group_by;
  std::string columns = "paper";
};

// Every option is checked before any run is read (keys against the runs: write_report).
results::ReportOptions report_options(const ReportArgs& args) {
  results::ReportOptions options;
  options.format = args.format;
  options.least_confident = args.least_confident;
  options.margin = args.margin;
  options.baseline = args.baseline;
  options.paper_columns = args.columns == "paper";
  for (const auto& w : args.where) options.where.push_back(results::parse_where(w));
  if (!args.html.empty()) check_output_file("--html", args.html);
  for (const auto& k : split(args.group_by, ',')) {
    auto key = trim(k);
    if (!key.empty()) options.group_by.push_back(key);
  }
  if (!args.group_by.empty() && options.group_by.empty())
    throw ConfigError("--group-by " + args.group_by + ": expected config keys separated by commas");
  if (!args.compare.empty()) {
    options.compare = results::load_reference(args.compare);
    options.compare_path = args.compare;
  }
  return options;
}

// A search's candidates stopped at a rung (or diverged) are its outcome, not unfinished runs:
// they leave the list of incomplete runs (and its exit code 3); the candidates of the last
// rung that did not win leave the table, whose row per group is then its winner (with the
// winner's seeds under sweep.seeds). One line says how many.
void leave_out_search_losers(const Sweep& sweep, std::vector<results::FoundRun>& runs) {
  std::set<std::string> stopped, lost;
  for (const auto& r : sweep.runs) {
    if (r.outcome == SearchOutcome::Stopped || r.outcome == SearchOutcome::Diverged) stopped.insert(r.run_id);
    if (r.outcome == SearchOutcome::NotWinner) lost.insert(r.run_id);
  }
  // A stopped candidate may be done all the same: trained straight through by another sweep
  // that shares its run (ranked at the rung by its validation curve). Not the search's pick.
  size_t n_stopped = 0, n_lost = 0;
  auto left_out = [&](const results::FoundRun& f) {
    const std::string id = f.state == "done" ? f.record.run_id : std::filesystem::path(f.path).filename().string();
    if (stopped.count(id)) return ++n_stopped, true;
    if (lost.count(id)) return ++n_lost, true;
    return false;
  };
  runs.erase(std::remove_if(runs.begin(), runs.end(), left_out), runs.end());
  if (n_stopped + n_lost)
    spdlog::info(
        "not in the table: {} candidate(s) the search stopped at a rung (or that diverged), {} of its last "
        "rung that did not win (above: their rungs and scores)",
        n_stopped, n_lost);
}

// The sweep file of --search or --seeds, read for the folder reported. A sweep run or
// submitted with output_dir=X is reported from X/<its name>: its runs (and rungs, rounds)
// are then read from X, not from the output_dir the file names, which may hold other runs of
// the same sweep (e.g. trained with other threads) or none.
Sweep load_for_dir(const std::string& spec, const std::string& dir) {
  Sweep sweep = load_sweep(spec, {});
  std::error_code ec;
  const fs::path reported = fs::weakly_canonical(fs::absolute(dir), ec);
  if (ec || reported.filename() != sweep.name) return sweep;
  const fs::path own = fs::weakly_canonical(fs::absolute(sweep.output_dir), ec);
  if (!ec && own == reported.parent_path()) return sweep;
  return load_sweep(spec, {"output_dir=" + reported.parent_path().string()});
}

void run_report(const ReportArgs& args) {
  results::ReportOptions options = report_options(args);
  std::shared_ptr<SeedRounds> rounds;
  if (!args.seeds.empty()) {
    rounds = load_for_dir(args.seeds, args.dir).seeds;
    if (!rounds) throw ConfigError(args.seeds + ": --seeds: the sweep has no sweep.seeds");
  }
  std::optional<Sweep> search;
  if (!args.search.empty()) {
    search = load_for_dir(args.search, args.dir);  // its rungs decided from the run folders
    if (!search->search) throw ConfigError(args.search + ": --search: the sweep has no sweep.search");
    options.ungrouped = search->search->spec.axis_keys();  // one row per group: its winner
  }
  // Summaries keep each run's kLeastConfidentKept least confident samples; more need result.h5.
  const bool full = options.format == "md" && size_t(options.least_confident) > results::kLeastConfidentKept;
  auto runs = results::find_runs(args.dir, full ? ResultDepth::Full : ResultDepth::Summary);
  if (auto note = results::summary_problems(runs); !note.empty()) spdlog::warn("{}", note);
  // Before the table (on stderr for CSV, which stays one table).
  auto& before_table = options.format == "csv" ? std::cerr : std::cout;
  if (search) {  // the search first: beside sweep.seeds, the rounds are those of its winners
    // In a sweep in stages, below it: which winner each later stage's runs start from.
    before_table << describe_search(*search->search) << describe_later_stages(*search) << "\n";
    leave_out_search_losers(*search, runs);
  }
  if (rounds) before_table << describe_seed_rounds(*rounds) << "\n";
  bool complete = args.html.empty() ? results::write_report(runs, options, std::cout, std::cerr)
                                    : write_html_report(args.dir, runs, options, args.html);
  exit_code() = complete ? 0 : kExitPartial;
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand("report", command_help("report"));
  cmd->add_option("dir", args->dir,
                  "a sweep folder (<output_dir>/<sweep>), any folder of runs, or a collection (aimrun collect)")
      ->required()
      ->check(fits_path_limits());
  cmd->add_option("--compare", args->compare,
                  "YAML of reference numbers to put beside ours with the difference, e.g.\n"
                  "experiments/paper_numbers.yaml (the AIM paper's tables)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--margin", args->margin,
                  "--compare: a cell whose 95% CI has a half-width over this many points is\n"
                  "'underpowered' rather than reproduced or not (default 2)")
      ->check(finite_in(1e-9, 1e9));
  cmd->add_option("--baseline", args->baseline,
                  "the method every other is compared with, paired by seed (default vanilla)");
  cmd->add_option("--where", args->where,
                  "only runs whose config has key=value (repeatable; numbers compare as numbers),\n"
                  "e.g. --where dataset.correlation=1.0 --where method.name=aim");
  cmd->add_option("--group-by", args->group_by,
                  "key,...: group runs by these config keys instead of dataset, method, backbone\n"
                  "and every other varying key (keep method.name to compare methods)");
  cmd->add_option("--format", args->format, "md, latex or csv")->check(CLI::IsMember({"md", "latex", "csv"}));
  cmd->add_option("--columns", args->columns,
                  "md: 'paper' (default: the paper's columns, test acc, test worst-group, EPG gradcam,\n"
                  "EPG mask, mask area, and their differences; fits 120 columns) or 'all' (every\n"
                  "metric: validation, every attribution's worst-group EPG, each stage's mask area).\n"
                  "csv, latex and --html always have every column")
      ->check(CLI::IsMember({"paper", "all"}));
  cmd->add_option("--least-confident", args->least_confident,
                  "md: also list this many test samples with the least confident masks (0: none)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--html", args->html,
                  "write one self-contained HTML page (tables, plots, each run's pictures and config,\n"
                  "the runs not in the table) to this file instead of the table; needs python3 with\n"
                  "matplotlib (docs/results-python.md)");
  cmd->add_option("--seeds", args->seeds,
                  "a sweep file with sweep.seeds: print its rounds first (each comparison decided or open, at\n"
                  "which n; the compute spent beside max seeds for every group; docs/report.md)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--search", args->search,
                  "a sweep file with sweep.search: print its rungs first (the metric and the split that\n"
                  "selected, each rung's ranking, the winners, the compute); its candidates stopped at a\n"
                  "rung are then not listed as incomplete (docs/report.md)")
      ->check(CLI::ExistingFile);
  cmd->callback([args] { run_report(*args); });
}

}  // namespace aim::cli
