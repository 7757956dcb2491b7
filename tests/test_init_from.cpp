// model.init_from: a run that starts from another run's trained weights (runner/init_from.h,
// docs/sweeps.md "Starting from another run").
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "aim/registry.h"
#include "core/error.h"
#include "results/run_file.h"
#include "run_compare.h"
#include "runner/init_from_weights.h"
#include "runner/schema.h"
#include "runner/trained_run.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

// A tiny run on the built-in dataset (a few seconds): 4 steps an epoch.
std::string tiny_config(const std::string& output_dir, int epochs = 1) {
  return "output_dir: " + output_dir +
         "\n"
         "dataset: {train_size: 256, val_size: 64, test_size: 64}\n"
         "model: {width: 4}\n"
         "train: {epochs: " +
         std::to_string(epochs) +
         ", batch_size: 64, log_every: 0}\n"
         "eval: {attributions: [gradcam], keep_maps: 0, pictures: 0, mask_confidence: false}\n";
}

struct Trained {
  std::string id, folder;
};

// Trains a tiny run with `overrides`; its id and folder.
Trained train_tiny(const std::string& config, const std::string& overrides) {
  auto r = test::run_command(test::aimrun() + " train " + config + " " + overrides);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> o{"world_size=1"};  // as `aimrun train` fills it in
  std::istringstream words(overrides);
  for (std::string w; words >> w;) o.push_back(w);
  auto cfg = load_run_config(config, o);
  // Its start lines (runner/start_line.h) fit a 120-column terminal.
  std::istringstream lines(r.output);
  int start_lines = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.find("] run " + cfg.run_id() + ": ") != std::string::npos &&
        line.find(" complete: ") == std::string::npos) {
      ++start_lines;
      EXPECT_LE(line.size(), 120u) << line;
    }
  EXPECT_EQ(start_lines, 2) << r.output;
  return {cfg.run_id(), cfg.get_string("output_dir") + "/runs/" + cfg.run_id()};
}

std::map<std::string, torch::Tensor> tensors(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters(true)) out[p.key()] = p.value();
  for (const auto& b : m.named_buffers(true)) out[b.key()] = b.value();
  return out;
}

bool starts(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

// The identity hashes the upstream's run id: the id and the folder spellings give the same
// downstream id, another upstream another id, and an unset key the ids of before.
TEST(InitFrom, IdentityFollowsTheUpstreamWhicheverWayItIsNamed) {
  test::TempDir dir;
  const auto out = dir.file("out");
  auto config = dir.write("c.yaml", tiny_config(out));
  // Upstream folders need only their config.yaml for the identity.
  auto make_upstream = [&](const std::string& seed) {
    auto cfg = load_run_config(config, {"seed=" + seed, "world_size=1"});
    const auto folder = out + "/runs/" + cfg.run_id();
    fs::create_directories(folder);
    std::ofstream(folder + "/config.yaml") << cfg.to_yaml();
    return std::make_pair(cfg.run_id(), folder);
  };
  const auto [a_id, a_dir] = make_upstream("0");
  const auto [b_id, b_dir] = make_upstream("1");
  ASSERT_NE(a_id, b_id);
  auto id = [&](const std::string& from) { return load_run_config(config, {"model.init_from=" + from}).run_id(); };
  const auto plain = load_run_config(config, {}).run_id();
  EXPECT_EQ(plain, load_run_config(config, {"model.init_from=~"}).run_id()) << "unset: the ids of before";
  EXPECT_NE(id(a_id), plain);
  EXPECT_EQ(id(a_id), id(a_dir)) << "the id and the folder name the same upstream";
  EXPECT_EQ(id(a_id), id(a_dir + "/")) << "a trailing slash";
  EXPECT_NE(id(a_id), id(b_id)) << "another upstream, another run";
  // A folder outside <output_dir>/runs (a copy, or --run-dir) keeps the same identity.
  fs::create_directories(dir.file("elsewhere"));
  fs::copy(a_dir, dir.file("elsewhere/a"));
  EXPECT_EQ(id(a_id), id(dir.file("elsewhere/a")));
  auto canon = load_run_config(config, {"model.init_from=" + dir.file("elsewhere/a")});
  EXPECT_EQ(canon.get_string("model.init_from"), a_id);
  EXPECT_EQ(canon.get_string("model.init_from_dir"), dir.file("elsewhere/a"));
  auto by_id = load_run_config(config, {"model.init_from=" + a_id});
  EXPECT_EQ(resolve_init_from(by_id)->folder, a_dir);
  EXPECT_EQ(resolve_init_from(by_id)->checkpoint, a_dir + "/checkpoint.pt");
  EXPECT_FALSE(resolve_init_from(load_run_config(config, {})).has_value());
  // Reloading the canonical config (what config.yaml holds) reads nothing and changes nothing.
  auto text = dir.write("canon.yaml", canon.to_yaml());
  fs::remove_all(dir.file("elsewhere"));
  auto again = load_run_config(text, {});
  EXPECT_EQ(again.run_id(), canon.run_id());
  EXPECT_EQ(again.get_string("model.init_from_dir"), dir.file("elsewhere/a"));
}

// A bad value, a missing, unfinished or failed upstream, or another backbone: exit 2 naming
// model.init_from and the upstream, before the downstream's run folder exists.
TEST(InitFrom, UnusableUpstreamIsAConfigErrorBeforeAnyRunFolder) {
  test::TempDir dir;
  const auto out = dir.file("out");
  auto config = dir.write("c.yaml", tiny_config(out));
  const auto up = train_tiny(config, "");
  std::set<std::string> upstreams{up.id};  // the run folders this test makes itself
  auto expect_refused = [&](const std::string& overrides, const std::string& says) {
    auto r = test::run_command(test::aimrun() + " train " + config + " " + overrides);
    EXPECT_EQ(r.exit_code, 2) << overrides << "\n" << r.output;
    EXPECT_NE(r.output.find("model.init_from"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(says), std::string::npos) << "expected '" << says << "' in\n" << r.output;
    size_t runs = 0;
    for (const auto& e : fs::directory_iterator(out + "/runs")) runs += !upstreams.count(e.path().filename().string());
    EXPECT_EQ(runs, 0u) << "a run folder was made for " << overrides;
  };
  expect_refused("model.init_from=nonsense", "neither a run folder");
  expect_refused("model.init_from=0123456789ab", "0123456789ab");
  expect_refused("model.init_from=" + dir.path(), "no config.yaml");
  expect_refused("model.init_from=" + up.id + " model.width=8", "model.width");
  expect_refused("model.init_from=" + up.id + " model.weights=" + config + " model.backbone=resnet18", "model.weights");

  // Unfinished: the upstream's config without a result (a run that has not finished).
  auto pending = load_run_config(config, {"seed=5", "world_size=1"});
  const auto pending_dir = out + "/runs/" + pending.run_id();
  upstreams.insert(pending.run_id());
  fs::create_directories(pending_dir);
  std::ofstream(pending_dir + "/config.yaml") << pending.to_yaml();
  expect_refused("model.init_from=" + pending.run_id(), pending.run_id() + " (" + pending_dir + ") has not finished");
  // Failed: FAILED holds the error of its last attempt.
  std::ofstream(pending_dir + "/FAILED") << "loss is not finite\n";
  expect_refused("model.init_from=" + pending_dir, "failed");
  // A folder whose files (config and result) are another run's than the id says.
  fs::remove_all(pending_dir);
  fs::copy(up.folder, pending_dir);
  expect_refused("model.init_from=" + pending.run_id(), "holds the result of run " + up.id);
}

// The weights the upstream's result.h5 evaluated initialise the backbone; a head of another
// shape (10 classes upstream, 2 here) stays fresh, a head of the same shape is taken.
TEST(InitFrom, BackboneComesFromTheUpstreamAndAHeadOfAnotherShapeIsFresh) {
  test::TempDir dir;
  const auto out = dir.file("out");
  auto config = dir.write("c.yaml", tiny_config(out));
  const auto up = train_tiny(config, "dataset.classes=all");
  auto upstream = load_trained_run(up.folder, {"device=cpu"});
  auto theirs = tensors(*upstream.model);

  auto cfg = load_run_config(config, {"model.init_from=" + up.id});
  check_init_from_ready(cfg);
  torch::manual_seed(0);
  auto fresh = model::make_model(cfg, 2, false);
  torch::manual_seed(0);
  auto model = model::make_model(cfg, 2, false);
  const auto said = load_init_from(cfg, *model);
  EXPECT_NE(said.find("fresh"), std::string::npos) << said;
  auto mine = tensors(*model), before = tensors(*fresh);
  size_t backbone = 0, head = 0;
  for (const auto& [name, t] : mine) {
    if (starts(name, "backbone.")) {
      ++backbone;
      EXPECT_TRUE(torch::equal(t, theirs.at(name))) << name;
      if (t.is_floating_point() && t.numel() > 1) {
        EXPECT_FALSE(torch::equal(t, before.at(name)))
            << name << ": the upstream's trained tensor is not the fresh one";
      }
    } else {
      ++head;
      EXPECT_TRUE(torch::equal(t, before.at(name))) << name << ": the head of another shape must stay fresh";
      EXPECT_NE(t.sizes(), theirs.at(name).sizes()) << name;
    }
  }
  EXPECT_GT(backbone, 4u);
  EXPECT_GT(head, 0u);

  // Ten classes downstream too: the head is the upstream's.
  auto same = load_run_config(config, {"model.init_from=" + up.id, "dataset.classes=all"});
  auto ten = model::make_model(same, 10, false);
  load_init_from(same, *ten);
  for (const auto& [name, t] : tensors(*ten)) EXPECT_TRUE(torch::equal(t, theirs.at(name))) << name;

  // AIM from a vanilla upstream: the backbone is taken, AIM's own modules are fresh.
  auto aim_cfg = load_run_config(config, {"model.init_from=" + up.id, "method.name=aim"});
  auto aim_model = model::make_model(aim_cfg, 2, false);
  const auto aim_said = load_init_from(aim_cfg, *aim_model);
  EXPECT_NE(aim_said.find("fresh"), std::string::npos) << aim_said;
  for (const auto& [name, t] : tensors(*aim_model))
    if (starts(name, "backbone.")) {
      EXPECT_TRUE(torch::equal(t, theirs.at(name))) << name;
    }
}

// End to end: `aimrun train` starts from the upstream (a tiny learning rate leaves the
// weights where the upstream left them), and result.h5 and config.yaml name the upstream.
TEST(InitFrom, TrainStartsFromTheUpstreamAndRecordsIt) {
  test::TempDir dir;
  const auto out = dir.file("out");
  auto config = dir.write("c.yaml", tiny_config(out));
  const auto up = train_tiny(config, "dataset.classes=all");
  const std::string gentle = " train.lr=1e-9 train.weight_decay=0";
  const auto down = train_tiny(config, "model.init_from=" + up.folder + gentle);
  const auto control = train_tiny(config, gentle);
  auto theirs = tensors(*load_trained_run(up.folder, {"device=cpu"}).model);
  auto mine = tensors(*load_trained_run(down.folder, {"device=cpu"}).model);
  auto scratch = tensors(*load_trained_run(control.folder, {"device=cpu"}).model);
  size_t compared = 0;
  for (const auto& [name, t] : mine) {
    if (!starts(name, "backbone.") || !t.is_floating_point() || name.find("running") != std::string::npos) continue;
    ++compared;
    EXPECT_TRUE(torch::allclose(t, theirs.at(name), 1e-5, 1e-6)) << name;
    EXPECT_FALSE(torch::allclose(scratch.at(name), theirs.at(name), 1e-5, 1e-6)) << name;
  }
  EXPECT_GT(compared, 4u);
  auto rec = results::read_run_file(down.folder + "/result.h5");
  EXPECT_EQ(rec.text.at("init_from_run"), up.id);
  EXPECT_EQ(rec.text.at("init_from_dir"), up.folder);
  auto saved = load_run_config(down.folder + "/config.yaml", {});
  EXPECT_EQ(saved.get_string("model.init_from"), up.id);
  EXPECT_EQ(saved.get_string("model.init_from_dir"), up.folder);
  EXPECT_EQ(saved.run_id(), down.id);
  EXPECT_EQ(down.id, load_run_config(
                         config, {"model.init_from=" + up.id, "train.lr=1e-9", "train.weight_decay=0", "world_size=1"})
                         .run_id());
}

// A stopped downstream resumes from its own checkpoint, not from the upstream's weights (the
// upstream's checkpoint is made unreadable after the stop), and ends as an uninterrupted twin.
TEST(InitFrom, DownstreamResumesFromItsOwnCheckpoint) {
  test::TempDir dir;
  const auto out = dir.file("out");
  auto config = dir.write("c.yaml", tiny_config(out, 2));
  const auto up = train_tiny(config, "train.epochs=1");
  const std::string from = " model.init_from=" + up.id;
  auto twin = test::run_command(test::aimrun() + " train " + config + from + " --run-dir " + dir.file("twin"));
  ASSERT_EQ(twin.exit_code, 0) << twin.output;
  auto first = test::run_command("AIMRUN_FAULT=rank=0,step=5,kind=stop " + test::aimrun() + " train " + config + from +
                                 " --run-dir " + dir.file("run"));
  ASSERT_EQ(first.exit_code, 75) << first.output;
  ASSERT_TRUE(fs::exists(dir.file("run/checkpoint.pt")));
  std::ofstream(up.folder + "/checkpoint.pt", std::ios::trunc) << "not a checkpoint";
  auto second = test::run_command(test::aimrun() + " train " + config + from + " --run-dir " + dir.file("run"));
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("resuming from"), std::string::npos) << second.output;
  test::expect_same_results(dir.file("twin/result.h5"), dir.file("run/result.h5"));
  // Without its own checkpoint (--restart) the run needs the upstream's weights again.
  auto restart = test::run_command(test::aimrun() + " train " + config + from + " --run-dir " + dir.file("run") +
                                   " --restart --force");
  EXPECT_NE(restart.exit_code, 0) << restart.output;
  EXPECT_NE(restart.output.find(up.folder + "/checkpoint.pt"), std::string::npos) << restart.output;
}
