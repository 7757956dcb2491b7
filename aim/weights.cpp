#include "aim/weights.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "core/config.h"
#include "core/error.h"
#include "core/h5.h"
#include "core/strings.h"

namespace aim::model {

namespace {

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

h5::Dtype h5_dtype(const torch::Tensor& t, const std::string& name) {
  switch (t.scalar_type()) {
    case torch::kFloat: return h5::Dtype::f32;
    case torch::kDouble: return h5::Dtype::f64;
    case torch::kLong: return h5::Dtype::i64;
    case torch::kInt: return h5::Dtype::i32;
    case torch::kByte: return h5::Dtype::u8;
    default: throw Error(name + ": cannot load a tensor of type " + std::string(c10::toString(t.scalar_type())));
  }
}

std::string join_keys(const std::vector<std::string>& keys) {
  std::string s;
  for (const auto& k : keys) s += (s.empty() ? "" : ", ") + k;
  return s;
}

}  // namespace

void load_torchvision_weights(Model& model, const std::string& h5_path, bool allow_new_head) {
  // Everything the model holds, by its full name ("backbone.layer1.0.bn1.running_var").
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : model.named_parameters(true)) targets[p.key()] = p.value();
  for (const auto& b : model.named_buffers(true)) targets[b.key()] = b.value();
  std::map<std::string, torch::Tensor> head;
  for (const auto& [name, t] : targets)
    if (starts_with(name, "head.")) head[name] = t;

  auto file = h5::open_file(h5_path);
  std::vector<std::string> keys;
  std::vector<std::string> unexpected, mismatched;
  for (hsize_t i = 0; i < file.getNumObjs(); ++i) {
    auto key = file.getObjnameByIdx(i);
    if (file.getObjTypeByIdx(i) != H5G_DATASET)
      unexpected.push_back(key + " (not a dataset)");
    else
      keys.push_back(key);
  }

  const std::string head_prefix = model.backbone()->torchvision_head() + ".";
  std::vector<std::pair<std::string, torch::Tensor>> copies;  // file key -> destination
  std::vector<std::pair<std::string, torch::Tensor>> head_copies;
  std::vector<std::string> head_keys, head_problems;
  std::set<std::string> found;
  for (const auto& key : keys) {
    std::vector<int64_t> dims;
    for (auto d : h5::shape(file, key)) dims.push_back(int64_t(d));
    const bool is_head = starts_with(key, head_prefix);
    const std::string target = is_head ? "head." + key.substr(head_prefix.size()) : "backbone." + key;
    if (is_head) head_keys.push_back(key);
    auto it = targets.find(target);
    if (it == targets.end()) {
      (is_head ? head_problems : unexpected).push_back(key);
      continue;
    }
    found.insert(target);
    if (it->second.sizes().vec() != dims) {
      (is_head ? head_problems : mismatched)
          .push_back(key + " (file " + shape_text(dims) + ", model " + shape_text(it->second.sizes().vec()) + ")");
      continue;
    }
    (is_head ? head_copies : copies).emplace_back(key, it->second);
  }

  std::vector<std::string> missing;
  for (const auto& [name, t] : targets)
    if (starts_with(name, "backbone.") && !found.count(name)) missing.push_back(name.substr(9));

  // The head loads as a whole or not at all: half a classifier from another task is no use.
  for (const auto& [name, t] : head)
    if (!found.count(name)) head_problems.push_back(head_prefix + name.substr(5) + " (missing from the file)");
  const bool load_head = !head.empty() && head_problems.empty();
  if (head.empty()) {
    if (!head_keys.empty())
      spdlog::info("{}: the model has no `head`, so {} is not loaded", h5_path, join_keys(head_keys));
  } else if (!load_head) {
    if (allow_new_head) {
      spdlog::info("{}: keeping the model's freshly initialised head (model.allow_new_head): {}", h5_path,
                   join_keys(head_problems));
    }
  }
  const bool head_error = !head.empty() && !load_head && !allow_new_head;

  if (!missing.empty() || !unexpected.empty() || !mismatched.empty() || head_error) {
    std::string msg = h5_path + ": the torchvision weights do not fit the model";
    if (!missing.empty()) msg += "\n  missing from the file: " + join_keys(missing);
    if (!unexpected.empty())
      msg += "\n  unexpected in the file (no such parameter or buffer): " + join_keys(unexpected);
    if (!mismatched.empty()) msg += "\n  shape mismatch: " + join_keys(mismatched);
    if (head_error)
      msg += "\n  the head (" + head_prefix + "*) does not fit the model's (set model.allow_new_head to train a fresh "
             "one): " + join_keys(head_problems);
    throw Error(msg);
  }

  if (load_head) copies.insert(copies.end(), head_copies.begin(), head_copies.end());
  torch::NoGradGuard no_grad;
  for (auto& [key, dst] : copies) {
    // Read in the destination's dtype (HDF5 converts), then copy onto its device.
    auto buf = torch::empty(dst.sizes(), dst.options().device(torch::kCPU));
    std::vector<hsize_t> dims(dst.sizes().begin(), dst.sizes().end());
    h5::read_raw(file, key, h5_dtype(dst, key), buf.data_ptr(), dims);
    dst.copy_(buf);
  }
  spdlog::info("{}: loaded {} tensors{}", h5_path, copies.size(), load_head ? " (with the head)" : "");
}

int64_t classes_in_configured_weights(const Config& cfg) {
  if (!cfg.applies("model.weights") || cfg.is_null("model.weights")) return 0;
  const auto path = cfg.get_string("model.weights");
  auto file = h5::open_file(path);
  for (const std::string key : {"fc.weight", "classifier.2.weight", "head.weight"})
    if (h5::exists(file, key)) return int64_t(h5::shape(file, key)[0]);
  throw Error(path + ": no classifier weights (fc.weight, classifier.2.weight or head.weight) to size the head; pass "
              "--num-classes");
}

void add_torchvision_weight_keys(Schema& s) {
  s.add(KeySpec("model.weights", ValueType::String, "~",
                "HDF5 file of torchvision weights to start from (scripts/export_torchvision_weights.py); ~: random "
                "initialisation")
            .existing_path());
  s.add(KeySpec("model.allow_new_head", ValueType::Bool, "false",
                "with model.weights: a head of another shape (number of classes) is freshly initialised instead of an "
                "error"));
}

}  // namespace aim::model
