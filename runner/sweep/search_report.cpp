#include "runner/sweep/search_report.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "core/files.h"
#include "core/strings.h"

namespace aim {

std::string describe_search(const SearchState& s) {
  std::ostringstream o;
  std::vector<std::string> rungs;
  for (auto r : s.spec.rungs) rungs.push_back(std::to_string(r));
  const size_t candidates = s.groups.empty() ? 0 : s.groups.front().runs.size();
  o << "search" << (s.stage.empty() ? "" : " in stage " + s.stage) << " (" << s.spec.where << "): rungs " << join(rungs, ", ") << " epochs, eta " << s.spec.eta << ", metric "
    << (s.spec.metric.empty() ? "val worst-group where the dataset has groups, else val acc" : s.spec.metric)
    << " (validation split; test data are never read to select), " << candidates << " candidates ("
    << join(s.spec.axis_keys(), ", ") << ") in each of " << s.groups.size() << " group(s); "
    << (s.finished ? "finished" : "running") << "\n";
  for (const auto& g : s.groups) {
    o << "  " << (g.label.empty() ? "all runs" : g.label) << (g.metric.empty() ? "" : " [" + g.metric + "]") << ":\n";
    for (size_t k = 0; k < g.at_rung.size(); ++k) {
      o << "    rung " << k + 1 << " (epoch " << s.spec.rungs[k] << "): " << g.at_rung[k].size() << " candidate(s)";
      if (k < g.ranked.size()) {
        std::vector<std::string> ranked;
        for (const auto& c : g.ranked[k])
          ranked.push_back(c.run_id + " (" + search_rungs::axes_text(s.spec, s.all_runs[c.run], true) + ") " +
                           search_rungs::score_text(c.score));
        const bool last = k + 1 == s.spec.rungs.size();
        const size_t promoted = k + 1 < g.at_rung.size() ? g.at_rung[k + 1].size() : 0;
        o << "; decided: " << (last ? "winner first" : "the first " + std::to_string(promoted) + " promoted")
          << "\n      " << join(ranked, "\n      ") << "\n";
      } else {
        o << "; waiting: " << g.waiting << "\n";
      }
    }
    if (g.finished && g.winner.run_id.empty())
      o << "    no winner: every candidate of rung " << g.at_rung.size() << " diverged\n";
    if (g.finished && !g.winner.run_id.empty())
      o << "    winner: " << g.winner.run_id << " (" << search_rungs::axes_text(s.spec, s.all_runs[g.winner.run], true)
        << ") " << g.metric << " " << search_rungs::score_text(g.winner.score) << " at epoch " << s.spec.rungs.back()
        << "\n";
  }
  o << "  compute: " << format_duration(s.seconds) << " so far; every candidate to " << s.spec.rungs.back()
    << " epochs: about " << format_duration(s.seconds_full);
  if (s.seconds_full > 0 && s.finished)
    o << ", " << int(std::lround(100 * (1 - s.seconds / s.seconds_full))) << "% saved";
  o << "\n";
  return o.str();
}

std::string describe_later_stages(const Sweep& sweep) {
  if (!sweep.search || sweep.stage_pool.empty()) return "";
  const auto& s = *sweep.search;
  std::ostringstream o;
  o << "later stages (their runs start from each group's winner of stage " << s.stage << "):\n";
  for (const auto& g : s.groups) {
    std::map<std::string, size_t> per_stage;  // runs of each later stage descending from this group
    for (const auto& r : sweep.stage_pool)
      if (std::any_of(g.runs.begin(), g.runs.end(), [&](size_t i) { return s.all_runs[i].run_id == r.root; }) &&
          (g.finished && !g.winner.run_id.empty() ? r.root == g.winner.run_id : r.root == s.all_runs[g.runs[0]].run_id))
        ++per_stage[r.stage];
    for (const auto& st : sweep.stages) {
      const auto& stage = st.name;
      const size_t n = per_stage.count(stage) ? per_stage.at(stage) : 0;
      if (n == 0) continue;
      o << "  stage " << stage << ", " << (g.label.empty() ? "all runs" : g.label) << ": " << n << " run(s) ";
      if (g.finished && !g.winner.run_id.empty())
        o << "start from the winner " << g.winner.run_id << "\n";
      else if (g.finished)
        o << "not started: the group has no winner (every candidate diverged)\n";
      else
        o << "wait for the group's winner (not decided: rung " << g.rung + 1
          << (g.waiting.empty() ? "" : ", " + g.waiting) << ")\n";
    }
  }
  return o.str();
}

namespace search_report {

// Once every group has its winner: `zip:`, one group of lists (each grid key's values, then
// each searched key's winning values, group by group) that a sweep of its own takes as its
// `sweep.zip` to train the winners again (with sweep.seeds, say): its runs of seed 0 are the
// winners themselves (the same configs, so the same run ids), done already.
void emit_winners_zip(YAML::Emitter& e, const SearchState& s) {
  for (const auto& g : s.groups)
    if (!g.finished || g.winner.run_id.empty()) return;
  std::vector<std::string> keys;
  for (const auto& [k, v] : s.all_runs[s.groups.front().winner.run].axes) keys.push_back(k);
  e << YAML::Key << "zip" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  for (const auto& key : keys) {
    e << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& g : s.groups)
      for (const auto& [k, v] : s.all_runs[g.winner.run].axes)
        if (k == key) e << YAML::Load(v);
    e << YAML::EndSeq;
  }
  e << YAML::EndMap << YAML::EndSeq;
}

}  // namespace search_report

std::string search_winners_path(const Sweep& sweep) { return sweep.sweep_dir() + "/search-winners.yaml"; }

void write_search_winners(const Sweep& sweep) {
  if (!sweep.search) return;
  const auto& s = *sweep.search;
  YAML::Emitter e;
  e << YAML::BeginMap << YAML::Key << "sweep" << YAML::Value << sweep.name;
  e << YAML::Key << "rungs" << YAML::Value << YAML::Flow << s.spec.rungs;
  e << YAML::Key << "eta" << YAML::Value << s.spec.eta;
  e << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  for (const auto& g : s.groups) {
    e << YAML::BeginMap << YAML::Key << "group" << YAML::Value << g.label;
    e << YAML::Key << "metric" << YAML::Value << g.metric;
    if (!g.finished || g.winner.run_id.empty()) {
      e << YAML::Key << "winner" << YAML::Value << YAML::Null << YAML::Key << "waiting" << YAML::Value
        << (g.finished ? "every candidate of rung " + std::to_string(g.at_rung.size()) + " diverged" : g.waiting)
        << YAML::EndMap;
      continue;
    }
    e << YAML::Key << "winner" << YAML::Value << g.winner.run_id;
    e << YAML::Key << "score" << YAML::Value << format_double(g.winner.score);
    e << YAML::Key << "set" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, v] : s.all_runs[g.winner.run].axes)
      if (search_rungs::searched(s.spec, k)) e << YAML::Key << k << YAML::Value << v;
    e << YAML::EndMap << YAML::EndMap;
  }
  e << YAML::EndSeq;
  search_report::emit_winners_zip(e, s);
  e << YAML::EndMap;
  write_text_atomic(search_winners_path(sweep),
                    "# aimrun search winners (docs/sweeps.md, Search): one entry per "
                    "group of the grid\n" +
                        std::string(e.c_str()) + "\n");
}

}  // namespace aim
