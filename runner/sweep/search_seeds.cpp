#include "runner/sweep/search_seeds.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "core/error.h"
#include "core/strings.h"
#include "runner/sweep/sweep_axes.h"

namespace aim {

namespace search_seeds {

using AxisValues = std::vector<std::pair<std::string, std::string>>;

std::string seed_value(const SweepRun& run) {
  for (const auto& [k, v] : run.axes)
    if (k == "seed") return v;
  return "";
}

AxisValues without_seed(const AxisValues& axes) {
  AxisValues out;
  for (const auto& kv : axes)
    if (kv.first != "seed") out.push_back(kv);
  return out;
}

// The pool's runs of one candidate (its axes, which have no seed), by seed.
std::vector<SweepRun> seeds_of(const std::vector<SweepRun>& pool, const SweepRun& candidate) {
  std::vector<SweepRun> out;
  for (const auto& r : pool)
    if (without_seed(r.axes) == candidate.axes) out.push_back(r);
  return out;
}

// A fresh SeedRounds that has not started, saying why.
std::shared_ptr<SeedRounds> blocked_rounds(const SeedsSpec& spec, const std::vector<std::string>& unpaired,
                                           const std::string& why) {
  auto r = std::make_shared<SeedRounds>();
  r->spec = spec;
  r->unpaired = unpaired;
  r->after_search = true;
  r->blocked = why;
  r->round = 0;
  return r;
}

}  // namespace search_seeds

void check_search_beside_seeds(const YAML::Node& search, const YAML::Node& seeds, const std::string& file) {
  if (!search.IsMap() || !search["axes"] || !search["axes"].IsMap()) return;  // read_search says what is wrong
  for (auto it : search["axes"])
    if (it.first.IsScalar() && it.first.Scalar() == "seed")
      throw ConfigError(yaml_where(file, it.first) + ": sweep.search.axes.seed: a searched seed beside sweep.seeds (" +
                        yaml_where(file, seeds) +
                        "), which gives the seeds: the search runs at seed 0 and its winners get seeds 0..max-1; "
                        "remove the axis");
}

void split_search_seeds(Sweep& sweep, const SearchSpec& search, const SeedsSpec& seeds,
                        std::vector<std::string> unpaired) {
  using namespace search_seeds;
  for (const auto& k : search.axis_keys()) unpaired.push_back(k);
  std::vector<SweepRun> candidates;
  for (const auto& r : sweep.runs)
    if (seed_value(r) == "0") {
      candidates.push_back(r);
      candidates.back().axes = without_seed(r.axes);
    }
  auto state = std::make_shared<SearchState>(search_groups(search, candidates));
  // Every decide entry must pair before anything runs: the first candidate of each group
  // stands in for its winner (the searched keys are not paired on, so any candidate will do).
  std::vector<SweepRun> stand_in;
  for (const auto& g : state->groups) {
    auto runs = seeds_of(sweep.runs, state->all_runs[g.runs.front()]);
    stand_in.insert(stand_in.end(), runs.begin(), runs.end());
  }
  seed_groups(seeds, std::move(stand_in), unpaired);
  sweep.seed_pool = std::move(sweep.runs);
  sweep.runs = std::move(candidates);
  sweep.search = std::move(state);
  sweep.seeds = blocked_rounds(seeds, unpaired, "the search is not finished");
}

void apply_search_seeds(Sweep& sweep) {
  using namespace search_seeds;
  apply_search(sweep);  // sweep.runs: the candidates, each with its budget
  for (auto& r : sweep.runs) r.axes.emplace_back("seed", "0");
  const auto& s = *sweep.search;
  const SeedsSpec spec = sweep.seeds->spec;
  const std::vector<std::string> unpaired = sweep.seeds->unpaired;
  size_t with_winner = 0;
  for (const auto& g : s.groups) with_winner += g.finished;
  if (!s.finished) {
    sweep.seeds = blocked_rounds(spec, unpaired,
                                 "the search is not finished (" + std::to_string(with_winner) + " of " +
                                     std::to_string(s.groups.size()) + " groups decided)");
    return;
  }
  std::vector<SweepRun> runs;
  for (const auto& g : s.groups) {
    if (g.winner.run_id.empty()) {
      sweep.seeds = blocked_rounds(spec, unpaired,
                                   "group " + (g.label.empty() ? std::string("of all runs") : g.label) +
                                       " has no winner (every candidate of rung " + std::to_string(g.at_rung.size()) +
                                       " diverged): there is nothing to give seeds to");
      return;
    }
    auto seeds = seeds_of(sweep.seed_pool, s.all_runs[g.winner.run]);
    runs.insert(runs.end(), seeds.begin(), seeds.end());
  }
  auto rounds = std::make_shared<SeedRounds>(seed_groups(spec, std::move(runs), unpaired));
  rounds->after_search = true;
  play_seed_rounds(*rounds, [&](size_t i) { return seed_run_result(sweep, rounds->all_runs[i]); });
  for (size_t i : rounds->active())  // seed 0 is the winner, a candidate already
    if (!sweep.find_run(rounds->all_runs[i].run_id)) sweep.runs.push_back(rounds->all_runs[i]);
  sweep.seeds = std::move(rounds);
}

}  // namespace aim
