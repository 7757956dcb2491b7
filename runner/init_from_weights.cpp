#include "runner/init_from_weights.h"

#include <torch/torch.h>

#include <map>
#include <set>

#include "core/error.h"
#include "core/strings.h"
#include "runner/init_from_check.h"
#include "runner/trained_run.h"

namespace aim {

// Named, not anonymous: the unity build puts several of the runner's files in one
// translation unit.
namespace init_from_weights {

using Tensors = std::map<std::string, torch::Tensor>;

Tensors named_tensors(torch::nn::Module& m) {
  Tensors out;
  for (const auto& p : m.named_parameters(true)) out[p.key()] = p.value();
  for (const auto& b : m.named_buffers(true)) out[b.key()] = b.value();
  return out;
}

std::string top_module(const std::string& name) { return name.substr(0, name.find('.')); }

// Why the tensors of `module` in `dst` cannot come from `src` ("" when they all can): a
// name missing on either side or a shape that differs.
std::vector<std::string> misfits(const Tensors& src, const Tensors& dst, const std::string& module) {
  std::vector<std::string> out;
  for (const auto& [name, t] : dst) {
    if (top_module(name) != module) continue;
    auto it = src.find(name);
    if (it == src.end())
      out.push_back(name + " (not in the upstream)");
    else if (it->second.sizes() != t.sizes())
      out.push_back(name + " (upstream " + c10::str(it->second.sizes()) + ", this run " + c10::str(t.sizes()) + ")");
  }
  for (const auto& [name, t] : src)
    if (top_module(name) == module && !dst.count(name)) out.push_back(name + " (only in the upstream)");
  return out;
}

}  // namespace init_from_weights

std::string load_init_from(const Config& cfg, model::Model& model, InitFromDigests* digests) {
  const auto up = resolve_init_from(cfg);
  if (!up) return "";
  const auto found = upstream_digests(cfg, *up);
  TrainedRun upstream;
  try {  // its checkpoint must be the run of its config.yaml, which must be the upstream
    upstream = load_trained_run(up->folder, {"device=cpu"});
  } catch (const DataError& e) {
    cfg.fail(kInitFromKey, describe_upstream(*up) + ": " + e.what());
  }
  if (upstream.config.run_id() != up->run_id)
    cfg.fail(kInitFromKey, up->folder + " holds the run " + upstream.config.run_id() + ", not " + up->run_id);
  if (digests) *digests = found;
  using namespace init_from_weights;
  const Tensors src = named_tensors(*upstream.model), dst = named_tensors(model);
  if (auto bad = misfits(src, dst, "backbone"); !bad.empty())
    cfg.fail(kInitFromKey,
             "the backbone of " + describe_upstream(*up) + " does not fit this run's: " + join(bad, ", "));
  std::set<std::string> modules;
  for (const auto& [name, t] : dst) modules.insert(top_module(name));
  std::vector<std::string> taken, fresh;
  torch::NoGradGuard no_grad;
  for (const auto& module : modules) {
    if (module != "backbone" && !misfits(src, dst, module).empty()) {
      fresh.push_back(module);
      continue;
    }
    taken.push_back(module);
    for (const auto& [name, t] : dst)
      if (top_module(name) == module) t.copy_(src.at(name));
  }
  return "initialised from " + describe_upstream(*up) + ": " + join(taken, ", ") +
         (fresh.empty() ? "" : "; fresh (no match in the upstream): " + join(fresh, ", "));
}

}  // namespace aim
