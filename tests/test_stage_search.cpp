// A search in one stage of a sweep in stages (docs/sweeps.md, "A search in a stage"): a later
// stage's runs start from each group's winner, and only once it is decided; the bad input.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/file_lock.h"
#include "core/files.h"
#include "core/strings.h"
#include "results/run_folder.h"
#include "runner/sweep/local_executor.h"
#include "runner/sweep/search_rungs.h"
#include "runner/sweep/sweep_spec.h"
#include "sweep_test.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

// The search tests' run: a few seconds an epoch on one thread.
std::string tiny(const std::string& out, int epochs) {
  return "output_dir: " + out +
         "\ndataset: {train_size: 500, val_size: 200, test_size: 200}\nmodel: {width: 4}\n"
         "train: {epochs: " +
         std::to_string(epochs) +
         ", batch_size: 64, log_every: 0}\n"
         "eval: {attributions: [gradcam], keep_maps: 0, pictures: 0}\n";
}

const std::string kMethods = "method: [{name: vanilla}, {name: aim}]";

// Stage `search` searches train.lr over `lrs` (rungs 1 and 2, eta 2) per method; stage
// `finetune` starts from its winners (`fine`: its set and axes); `more`: further stages.
std::string staged_search(const std::string& out, const std::string& lrs = "[0.1, 0.01]",
                          const std::string& fine = "      set: {train.epochs: 1, train.lr: 0.01}\n      grid: {" +
                                                    kMethods + "}\n",
                          const std::string& more = "") {
  return tiny(out, 2) +
         "sweep:\n  name: staged-search\n  stages:\n"
         "    - name: search\n      grid: {" +
         kMethods + "}\n      search: {axes: {train.lr: " + lrs +
         "}, rungs: [1, 2], eta: 2, metric: val acc}\n"
         "    - name: finetune\n      init_from: search\n" +
         fine + more;
}

std::string load_error(const test::TempDir& dir, const std::string& text) {
  return test::error_of<ConfigError>([&] { load_sweep(dir.write("s.yaml", text), {}); });
}

// The line of `text` that holds `id` ("" if none).
std::string line_of(const std::string& text, const std::string& id) {
  const auto at = text.find(id);
  if (at == std::string::npos) return "";
  const auto start = text.rfind('\n', at) + 1;
  return text.substr(start, text.find('\n', at) - start);
}

}  // namespace

// Before anything is trained, a later stage's runs exist for every candidate they could start
// from (the pool), none of them in the sweep's runs; a third stage follows each candidate's line.
TEST(StageSearch, LaterStagesWaitInThePoolOneRunPerCandidate) {
  test::TempDir dir;
  const auto spec = dir.write(
      "s.yaml", staged_search(dir.file("out"), "[0.1, 0.03, 0.01]",
                              "      set: {train.epochs: 1, train.lr: 0.01}\n      grid: {" + kMethods + "}\n",
                              "    - name: again\n      init_from: finetune\n      set: {train.epochs: 1}\n"));
  const auto s = load_sweep(spec, {});
  ASSERT_TRUE(s.search);
  EXPECT_EQ(s.search->stage, "search");
  ASSERT_EQ(s.search->groups.size(), 2u);
  EXPECT_EQ(s.runs.size(), 6u);  // the candidates only: 2 methods x 3 learning rates
  for (const auto& r : s.runs) EXPECT_EQ(r.stage, "search") << r.run_id;
  ASSERT_EQ(s.stage_pool.size(), 12u);  // finetune and again: 2 methods x 3 candidates each
  std::map<std::string, const SweepRun*> candidates;
  for (const auto& r : s.runs) candidates[r.run_id] = &r;
  for (const auto& p : s.stage_pool) {
    ASSERT_TRUE(candidates.count(p.root)) << p.run_id;
    if (p.stage == "finetune") {
      EXPECT_EQ(p.upstream, p.root);
      EXPECT_EQ(p.config.get_string("model.init_from"), p.root);
      EXPECT_EQ(test::axis(p, "method"), test::axis(*candidates[p.root], "method"));  // its own group's candidate
      EXPECT_DOUBLE_EQ(p.config.get_float("train.lr"), 0.01);                         // its own setting
    } else {
      const SweepRun* up = nullptr;
      for (const auto& q : s.stage_pool)
        if (q.run_id == p.upstream) up = &q;
      ASSERT_NE(up, nullptr) << p.run_id;
      EXPECT_EQ(up->stage, "finetune");
      EXPECT_EQ(up->root, p.root);  // the same candidate's line
    }
  }
  auto plan = test::run_command(test::aimrun() + " sweep plan " + spec);
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  EXPECT_NE(plan.output.find("stage finetune, method={name: aim}: 1 run(s) wait for the group's winner"),
            std::string::npos)
      << plan.output;
  for (const auto& p : s.stage_pool) EXPECT_EQ(plan.output.find(p.run_id), std::string::npos) << p.run_id;
}

// The searching stage may itself start from an earlier stage: its candidates start from the
// pretraining run, the later stage from the candidates (until decided, all of them).
TEST(StageSearch, TheSearchingStageStartsFromAnEarlierStage) {
  test::TempDir dir;
  std::string text = staged_search(dir.file("out"));
  text.replace(text.find("    - name: search\n"), 19,
               "    - name: pretrain\n      set: {train.epochs: 1}\n    - name: search\n      init_from: pretrain\n");
  const auto s = load_sweep(dir.write("s.yaml", text), {});
  ASSERT_TRUE(s.search);
  const auto pre = s.stage_runs("pretrain"), cands = s.stage_runs("search");
  ASSERT_EQ(pre.size(), 1u);
  ASSERT_EQ(cands.size(), 4u);
  EXPECT_EQ(s.runs.front().stage, "pretrain");  // stage by stage
  for (const auto* c : cands) {
    EXPECT_EQ(c->upstream, pre[0]->run_id);
    EXPECT_TRUE(c->root.empty());
  }
  EXPECT_EQ(s.search->all_runs.size(), 4u);
  ASSERT_EQ(s.stage_pool.size(), 4u);  // one fine-tuning per candidate, in the pool
  for (const auto& p : s.stage_pool) EXPECT_EQ(p.upstream, p.root);
  EXPECT_TRUE(s.stage_runs("finetune").empty());
}

// One `sweep run`: the search's rungs, then each method's fine-tuning from that method's
// winner, its checkpoint and run id; no loser's fine-tuning exists anywhere.
TEST(StageSearch, OneSweepRunFinetunesFromEachGroupsWinnerAndNeverFromALoser) {
  test::TempDir dir;
  const auto spec = dir.write("s.yaml", staged_search(dir.file("out")));
  auto r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto s = load_sweep(spec, {});
  ASSERT_TRUE(s.search && s.search->finished);
  std::set<std::string> winners, candidates;
  for (const auto& g : s.search->groups) {
    ASSERT_FALSE(g.winner.run_id.empty()) << g.label;
    winners.insert(g.winner.run_id);
  }
  for (const auto& c : s.search->all_runs) candidates.insert(c.run_id);
  const auto fine = s.stage_runs("finetune");
  ASSERT_EQ(fine.size(), 2u);
  std::set<std::string> methods;
  for (const auto* f : fine) {
    ASSERT_TRUE(winners.count(f->upstream)) << f->upstream;
    const SweepRun* up = s.find_run(f->upstream);
    ASSERT_NE(up, nullptr);
    EXPECT_EQ(test::axis(*up, "method"), test::axis(*f, "method"));  // its own method's winner
    methods.insert(test::axis(*f, "method"));
    const RunPaths paths{s.run_dir(f->run_id)};
    const auto st = inspect_run_folder(paths, ResultDepth::Full);
    ASSERT_EQ(st.state, RunState::Done) << f->run_id << ": " << st.detail;
    EXPECT_EQ(st.record.text.at("init_from_run"), f->upstream);
    EXPECT_NE(read_text(paths.dir + "/train.log").find("initialised from the upstream run " + f->upstream),
              std::string::npos);
  }
  EXPECT_EQ(methods.size(), 2u);
  // Every run folder is a candidate or a winner's fine-tuning: the losers started nothing.
  size_t folders = 0;
  for (const auto& e : fs::directory_iterator(s.output_dir + "/runs")) {
    ++folders;
    const std::string id = e.path().filename().string();
    if (candidates.count(id)) continue;
    const auto cfg = read_text(e.path().string() + "/config.yaml");
    bool from_winner = false;
    for (const auto& w : winners) from_winner = from_winner || cfg.find("init_from: " + w) != std::string::npos;
    EXPECT_TRUE(from_winner) << id << " starts from no winner:\n" << cfg;
  }
  EXPECT_EQ(folders, candidates.size() + 2);
  // status: the fine-tuning rows name their winners; below, which winner each stage starts from.
  auto st = test::run_command(test::aimrun() + " sweep status " + spec);
  ASSERT_EQ(st.exit_code, 0) << st.output;
  for (const auto* f : fine) {
    const auto row = line_of(st.output, f->run_id);
    EXPECT_NE(row.find("finetune"), std::string::npos) << row;
    EXPECT_NE(row.find(f->upstream), std::string::npos) << row;
    EXPECT_NE(row.find("done"), std::string::npos) << row;
    EXPECT_NE(st.output.find("1 run(s) start from the winner " + f->upstream), std::string::npos) << st.output;
  }
  // Run again: nothing is trained a second time.
  auto again = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find(" 0 trained"), std::string::npos) << again.output;
}

// `aimrun report --search` of a sweep whose search is one stage: the stage, the metric and
// split that selected, each group's winner and the later stage's runs starting from it, exit
// 0; the candidates stopped at a rung and the one beaten at the last rung are in no row (each
// method's row of the search is its winner alone, n 1, aim compared with vanilla), and each
// fine-tuning row starts from its method's winner.
TEST(StageSearch, TheReportOfAStagedSearchShowsTheWinnersAndLeavesTheLosersOut) {
  test::TempDir dir;
  const auto spec = dir.write("s.yaml", staged_search(dir.file("out"), "[0.1, 0.03, 0.01]"));
  auto r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto s = load_sweep(spec, {});
  ASSERT_TRUE(s.search && s.search->finished);
  auto report = test::run_command(test::aimrun() + " report " + dir.file("out/staged-search") + " --search " + spec +
                                  " --format csv");
  ASSERT_EQ(report.exit_code, 0) << report.output;
  const std::string& out = report.output;
  EXPECT_NE(out.find("search in stage search (" + spec +
                     ":11): rungs 1, 2 epochs, eta 2, metric val acc (validation "
                     "split; test data are never read to select)"),
            std::string::npos)
      << out;
  std::map<std::string, std::string> winner_of;  // method -> its winner's run id
  for (const auto& g : s.search->groups) {
    winner_of[test::axis(s.search->all_runs[g.winner.run], "method")] = g.winner.run_id;
    EXPECT_NE(out.find("    winner: " + g.winner.run_id), std::string::npos) << out;
    EXPECT_NE(out.find("stage finetune, " + g.label + ": 1 run(s) start from the winner " + g.winner.run_id),
              std::string::npos)
        << out;
  }
  ASSERT_EQ(winner_of.size(), 2u);
  // 3 candidates per method, eta 2: 1 stopped at rung 1, 2 at rung 2 of which 1 won.
  EXPECT_NE(out.find("not in the table: 2 candidate(s) the search stopped at a rung (or that diverged), 2 of its "
                     "last rung that did not win"),
            std::string::npos)
      << out;
  // The table (CSV): a row per method of each stage, n 1 each.
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  for (const auto& line : split(out, '\n')) {
    if (starts_with(line, "dataset,")) header = split(line, ',');
    if (starts_with(line, "builtin,")) rows.push_back(split(line, ','));
  }
  auto column = [&](const std::string& name) {
    return size_t(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const size_t method = column("method"), from = column("model.init_from"), n = column("n"), base = column("baseline");
  ASSERT_LT(base, header.size()) << out;
  ASSERT_EQ(rows.size(), 4u) << out;
  std::set<std::string> searched, finetuned;
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), header.size()) << out;
    EXPECT_EQ(row[n], "1") << out;  // the winner alone; its fine-tuning alone
    const std::string m = "{name: " + row[method] + "}";
    if (row[from] == "-") {
      searched.insert(row[method]);
      EXPECT_EQ(row[base], row[method] == "aim" ? "vanilla" : "-") << out;
    } else {
      finetuned.insert(row[method]);
      EXPECT_EQ(row[from], winner_of.at(m).substr(0, 6)) << out;  // its own method's winner
    }
  }
  EXPECT_EQ(searched, (std::set<std::string>{"vanilla", "aim"}));
  EXPECT_EQ(finetuned, (std::set<std::string>{"vanilla", "aim"}));
}

TEST(StageSearch, BadInputIsAConfigErrorWithFileAndLine) {
  test::TempDir dir;
  const std::string out = dir.file("out");
  // A search at the top of a sweep in stages: it belongs to a stage.
  std::string text = staged_search(out);
  text.insert(text.find("  stages:"), "  search: {axes: {train.lr: [0.1]}, rungs: [2]}\n");
  auto e = load_error(dir, text);
  EXPECT_NE(e.find("s.yaml:8: sweep.search: in a sweep in stages a search belongs to one stage"), std::string::npos)
      << e;
  // Two stages that search.
  e = load_error(dir, staged_search(out, "[0.1, 0.01]",
                                    "      grid: {" + kMethods +
                                        "}\n      search: {axes: {train.weight_decay: [0, 0.1]}, rungs: [2]}\n"));
  EXPECT_NE(e.find("s.yaml:15: sweep.stages[finetune].search: stage search searches already"), std::string::npos) << e;
  // Adaptive seeds in the stage after a search.
  e = load_error(dir, staged_search(out, "[0.1, 0.01]",
                                    "      grid: {" + kMethods +
                                        "}\n      seeds: {start: 2, max: 3, decide: ['aim - vanilla: val acc']}\n"));
  EXPECT_NE(e.find("s.yaml:15: sweep.stages[finetune].seeds: adaptive seeds beside a search (stage search) are not "
                   "supported in a sweep in stages yet"),
            std::string::npos)
      << e;
  // The stage's own rungs beyond its epochs; a searched key set by the stage too.
  text = staged_search(out);
  text.replace(text.find("rungs: [1, 2]"), 13, "rungs: [1, 3]");
  e = load_error(dir, text);
  EXPECT_NE(e.find("s.yaml:11: sweep.stages[search].search.rungs: the rung 3 is beyond train.epochs (2)"),
            std::string::npos)
      << e;
  text = staged_search(out);
  text.insert(text.find("      search:"), "      set: {train.lr: 0.5}\n");
  e = load_error(dir, text);
  EXPECT_NE(e.find("s.yaml:11: sweep.stages[search].set.train.lr: also an axis of this stage"), std::string::npos) << e;
  // A later run that matches no group of the search (another method), or several (the
  // search stage has a seed axis the later stage does not tell apart).
  e = load_error(dir, staged_search(out, "[0.1, 0.01]", "      grid: {method: [{name: bottom_up}]}\n"));
  EXPECT_NE(e.find("s.yaml:12: sweep.stages[finetune].init_from: the run with method={name: bottom_up}"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("matches no run of stage search (matched on method)"), std::string::npos) << e;
  text = staged_search(out);
  text.replace(text.find("grid: {method"), 13, "grid: {seed: [0, 1], method");
  e = load_error(dir, text);
  EXPECT_NE(e.find("matches 2 runs of stage search (matched on method)"), std::string::npos) << e;
  // Each refused by plan, run and status alike, exit 2, nothing written.
  for (const std::string cmd : {"plan", "run", "status"}) {
    auto r = test::run_command(test::aimrun() + " sweep " + cmd + " " + dir.file("s.yaml"));
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.output;
  }
  EXPECT_FALSE(fs::exists(out));
}

// Every error inside a stage's search names that stage's key (sweep.stages[<name>].search.<key>),
// not a top-level sweep.search, with the file and line of the mistake.
TEST(StageSearch, AnErrorInAStagesSearchNamesTheStagesKey) {
  test::TempDir dir;
  const std::string out = dir.file("out");
  const std::string search = "search: {axes: {train.lr: [0.1, 0.01]}, rungs: [1, 2], eta: 2, metric: val acc}";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"eta: 2", "sweep.stages[search].search.eta: 1 is out of range (2 to 1000)"},
      {"rungs: [1, 2]", "sweep.stages[search].search.rungs: the rungs must increase: 1 after 2"},
      {"train.lr: [0.1, 0.01]",
       "sweep.stages[search].search.axes.train.lr: expected a non-empty list of values or a range"},
      {"train.lr: [0.1, 0.01]", "sweep.stages[search].search.axes.train.lr.high: expected a number, got 'x'"},
      {"metric: val acc", "sweep.stages[search].search.metric: 'test acc' is a metric of held-out data"},
      {"eta: 2", "sweep.stages[search].search.etta: unknown key (did you mean 'eta'?)"},
      {"axes: {train.lr: [0.1, 0.01]}, ", "sweep.stages[search].search: axes and rungs are required"},
      {"train.lr: [0.1, 0.01]", "sweep.stages[search].search.axes.model.width: searched and an axis of the grid too"}};
  const std::vector<std::string> wrong = {"eta: 1",
                                          "rungs: [2, 1]",
                                          "train.lr: 0.1",
                                          "train.lr: {low: 0.1, high: x, samples: 2}",
                                          "metric: test acc",
                                          "etta: 2",
                                          "",
                                          "model.width: [2, 4]"};
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string text = staged_search(out);
    ASSERT_NE(text.find(search), std::string::npos);
    text.replace(text.find(cases[i].first), cases[i].first.size(), wrong[i]);
    if (i == 7) text.replace(text.find("grid: {method"), 13, "grid: {model.width: [2, 4], method");
    const auto e = load_error(dir, text);
    EXPECT_NE(e.find("s.yaml:11: " + cases[i].second), std::string::npos) << wrong[i] << ":\n" << e;
    EXPECT_EQ(e.find("sweep.search"), std::string::npos) << e;
  }
  // The same mistakes in a sweep without stages still name sweep.search.
  std::string flat = tiny(out, 2) + "sweep:\n  name: flat\n  grid: {" + kMethods + "}\n  " + search + "\n";
  flat.replace(flat.find("eta: 2"), 6, "eta: 1");
  const auto e = load_error(dir, flat);
  EXPECT_NE(e.find("s.yaml:9: sweep.search.eta: 1 is out of range"), std::string::npos) << e;
}

// `sweep run` of a search holds the sweep's run lock (what `sweep status --watch` takes for "a
// sweep run is active") from its first pass to its last, never free between two passes, where
// a watch would see every run pending and end.
TEST(StageSearch, ASweepRunOfASearchHoldsItsRunLockAcrossItsPasses) {
  test::TempDir dir;
  const auto spec = dir.write("s.yaml", staged_search(dir.file("out")));
  const auto sweep = load_sweep(spec, {});
  const std::string lock = sweep_run_lock_path(sweep);
  const auto bg = test::run_command("OMP_NUM_THREADS=1 setsid " + test::aimrun() + " sweep run " + spec + " > " +
                                    dir.file("run.log") + " 2>&1 & echo $!");
  const std::string stat = "/proc/" + trim(bg.output) + "/stat";
  auto running = [&] {  // alive and not a zombie: the state after "(comm) "
    const std::string text = fs::exists(stat) ? read_text(stat) : "";
    const auto at = text.rfind(") ");
    return at != std::string::npos && text.substr(at + 2, 1) != "Z";
  };
  bool held = false;
  size_t gaps = 0, free = 0;                       // gaps: times it was free and then held again (not the end)
  for (int i = 0; i < 600000 && running(); ++i) {  // every millisecond, at most 10 minutes
    const bool now = is_locked_by_other(lock);
    if (held && !now) ++free;
    if (now && free > 0) ++gaps, free = 0;
    held = held || now;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_FALSE(running());
  EXPECT_NE(read_text(dir.file("run.log")).find("search finished"), std::string::npos)
      << read_text(dir.file("run.log"));
  EXPECT_TRUE(held);
  EXPECT_EQ(gaps, 0u) << "the run lock was free while the search's sweep run went on";
  EXPECT_TRUE(load_sweep(spec, {}).search->finished);
}
