// A run's id is a hash of its resolved config: changing how configs are resolved or stored
// (a sweep of thousands of runs resolves thousands) must not change one id. The expected ids
// in tests/data/sweep_identity/*.ids were written by `aimrun sweep plan` at ae57250, before
// the config store was shared between runs (docs/performance.md), for the sweeps beside them.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "runner/sweep/sweep_spec.h"

using namespace aim;

namespace {

const std::string kData = std::string(AIM_SOURCE_DIR) + "/tests/data/sweep_identity/";

std::vector<std::string> expected_ids(const std::string& name) {
  std::ifstream in(kData + name);
  std::vector<std::string> ids;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) ids.push_back(line);
  return ids;
}

// Every id of the sweep, in order, equals the one aimrun wrote before; the first difference
// is named with the run's axes.
void expect_ids(const std::string& spec, const std::vector<std::string>& overrides, int ranks, const std::string& ids) {
  const auto expected = expected_ids(ids);
  ASSERT_FALSE(expected.empty()) << kData + ids << " has no ids";
  const Sweep sweep = load_sweep(kData + spec, overrides, ranks);
  ASSERT_EQ(sweep.runs.size(), expected.size()) << spec;
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& run = sweep.runs[i];
    if (run.run_id == expected[i]) continue;
    std::string axes;
    for (const auto& [k, v] : run.axes) axes += " " + k + "=" + v;
    FAIL() << spec << ": run " << i + 1 << " (" << run.stage << axes << ") has the id " << run.run_id << ", expected "
           << expected[i];
  }
}

}  // namespace

TEST(SweepIdentity, AGridOf1440RunsKeepsEveryId) { expect_ids("grid.yaml", {}, 1, "grid.ids"); }

TEST(SweepIdentity, TheRankCountEntersEveryIdAsBefore) { expect_ids("grid.yaml", {}, 3, "grid-ranks3.ids"); }

TEST(SweepIdentity, OverridesEnterEveryIdAsBefore) {
  expect_ids("grid.yaml", {"train.epochs=2", "method.lambda=5"}, 1, "grid-overrides.ids");
}

TEST(SweepIdentity, StagesKeepTheirIdsAndTheirUpstreams) { expect_ids("staged.yaml", {}, 1, "staged.ids"); }

// The ids do not depend on what was resolved before in the same process (the caches of
// defaults and of emitted sections): the same sweep twice, and a run alone, give the same ids.
TEST(SweepIdentity, IdsDoNotDependOnWhatWasResolvedBefore) {
  const Sweep first = load_sweep(kData + "grid.yaml", {}, 1);
  const Sweep staged = load_sweep(kData + "staged.yaml", {}, 1);
  const Sweep again = load_sweep(kData + "grid.yaml", {}, 1);
  ASSERT_EQ(first.runs.size(), again.runs.size());
  for (size_t i = 0; i < first.runs.size(); ++i) EXPECT_EQ(first.runs[i].run_id, again.runs[i].run_id) << i;
  // A config's flat values are copies: writing into them (as yaml-cpp's assignment does,
  // into the node a handle shares) changes neither the config nor the defaults every config
  // shares (train.momentum is one).
  Config copy = first.runs[7].config;
  auto flat = copy.flat();
  flat["method.name"].value = YAML::Node("aim");
  flat["train.momentum"] = ConfigValue{YAML::Node("0.5"), Location{}};
  EXPECT_EQ(copy.run_id(), first.runs[7].run_id);
  EXPECT_EQ(first.runs[7].config.get_string("method.name"), "vanilla");
  EXPECT_EQ(again.runs[8].config.get_float("train.momentum"), 0.9);
  const Sweep third = load_sweep(kData + "grid.yaml", {}, 1);
  EXPECT_EQ(third.runs[7].config.get_float("train.momentum"), 0.9);
  EXPECT_EQ(third.runs[7].run_id, expected_ids("grid.ids")[7]);
}

// A sweep copies its settings for each run and applies the run's overrides to the copy:
// yaml-cpp's assignment writes into the node a copied handle shares, so an override that
// assigned into the copy changed the sweep's settings too.
TEST(SweepIdentity, AnOverrideOfOneRunLeavesTheSweepsSettingsAlone) {
  FlatConfig base;
  flatten_into(base, "", YAML::Load("train: {epochs: 3, lr: 0.1}\nworld_size: 0\nseed: 4"), "base.yaml");
  FlatConfig run = base;
  apply_override(run, "train.epochs=5");
  apply_override(run, "train={lr: 0.2}");
  apply_override(run, "world_size=2");
  flatten_into(run, "seed", YAML::Load("9"), "axis.yaml");
  EXPECT_EQ(run.at("train.epochs").value.Scalar(), "5");
  EXPECT_EQ(run.at("train.lr").value.Scalar(), "0.2");
  EXPECT_EQ(base.at("train.epochs").value.Scalar(), "3");
  EXPECT_EQ(base.at("train.lr").value.Scalar(), "0.1");
  EXPECT_EQ(base.at("world_size").value.Scalar(), "0");
  EXPECT_EQ(base.at("seed").value.Scalar(), "4");
}
