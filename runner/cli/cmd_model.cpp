// aimrun model CONFIG: parameters and FLOPs of the configured model, and what its method
// adds over the vanilla model on the same backbone.
#include <cstdio>
#include <iostream>

#include "aim/registry.h"
#include "runner/cli/command_list.h"
#include "runner/cli/commands.h"
#include "runner/model_info.h"
#include "runner/schema.h"

namespace aim::cli {

namespace {

struct ModelArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::vector<int64_t> size = {224, 224};
  int64_t classes = 1000;
};

void run_model(const ModelArgs& a) {
  auto cfg = load_run_config(a.config, a.overrides);
  auto measure = [&](const std::string& method) {
    auto flat = cfg.flat();
    apply_override(flat, "method.name=" + method);
    auto c = Config::resolve(flat, full_schema());
    torch::manual_seed(0);
    auto m = model::make_model(c, a.classes, /*initial_weights=*/false);
    return measure_cost(*m, a.size[0], a.size[1]);
  };
  const auto method = cfg.get_string("method.name");
  auto cost = measure(method);
  std::printf("%s on %s, %lldx%lld input, %lld classes\n", method.c_str(), cfg.get_string("model.backbone").c_str(),
              (long long)a.size[0], (long long)a.size[1], (long long)a.classes);
  std::printf("  parameters        %10.3f M (backbone %.3f M)\n", cost.parameters / 1e6, cost.backbone_parameters / 1e6);
  std::printf("  forward           %10.3f GFLOPs per image (a multiply-add = 2 FLOPs)\n", cost.forward_flops / 1e9);
  std::printf("  training (3x)     %10.3f GFLOPs per image\n", cost.training_flops() / 1e9);
  for (const auto& [op, f] : cost.by_operator) std::printf("    %-16s %10.3f GFLOPs\n", op.c_str(), f / 1e9);
  if (method != "vanilla") {
    auto base = measure("vanilla");
    std::printf("  over vanilla      %+10.3f M parameters, %+.3f GFLOPs forward (%+.1f%%)\n",
                (cost.parameters - base.parameters) / 1e6, (cost.forward_flops - base.forward_flops) / 1e9,
                100.0 * (cost.forward_flops / base.forward_flops - 1.0));
  }
}

}  // namespace

void add_model_command(CLI::App& app) {
  auto a = std::make_shared<ModelArgs>();
  auto* cmd = app.add_subcommand("model", command_help("model"));
  cmd->add_option("config", a->config, "YAML config")->required()->check(CLI::ExistingFile);
  cmd->add_option("overrides", a->overrides, "key=value overrides");
  cmd->add_option("--size", a->size, "input H W")->expected(2);
  cmd->add_option("--classes", a->classes, "classes of the head");
  cmd->callback([a] { run_model(*a); });
}

}  // namespace aim::cli
