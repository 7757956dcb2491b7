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

// Everything the model holds, by its full name ("backbone.layer1.0.bn1.running_var").
std::map<std::string, torch::Tensor> model_tensors(Model& model) {
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : model.named_parameters(true)) targets[p.key()] = p.value();
  for (const auto& b : model.named_buffers(true)) targets[b.key()] = b.value();
  return targets;
}

// How a weights file's datasets meet the model's tensors.
struct WeightMatch {
  std::vector<std::pair<std::string, torch::Tensor>> copies;       // file key -> destination
  std::vector<std::pair<std::string, torch::Tensor>> head_copies;  // the same for the head
  std::vector<std::string> head_keys, head_problems, unexpected, mismatched, missing;
  std::set<std::string> found;  // the model's names that the file has
};

// The file's datasets, each matched with the model's tensor of its name: torchvision's head
// (`head_prefix`) is the model's `head.`, the rest its `backbone.`.
WeightMatch match_weights(H5::H5File& file, const std::map<std::string, torch::Tensor>& targets,
                          const std::string& head_prefix) {
  WeightMatch m;
  std::vector<std::string> keys;
  for (hsize_t i = 0; i < file.getNumObjs(); ++i) {
    auto key = file.getObjnameByIdx(i);
    if (file.getObjTypeByIdx(i) != H5G_DATASET)
      m.unexpected.push_back(key + " (not a dataset)");
    else
      keys.push_back(key);
  }
  for (const auto& key : keys) {
    std::vector<int64_t> dims;
    for (auto d : h5::shape(file, key)) dims.push_back(int64_t(d));
    const bool is_head = starts_with(key, head_prefix);
    const std::string target = is_head ? "head." + key.substr(head_prefix.size()) : "backbone." + key;
    if (is_head) m.head_keys.push_back(key);
    auto it = targets.find(target);
    if (it == targets.end()) {
      (is_head ? m.head_problems : m.unexpected).push_back(key);
      continue;
    }
    m.found.insert(target);
    if (it->second.sizes().vec() != dims) {
      (is_head ? m.head_problems : m.mismatched)
          .push_back(key + " (file " + shape_text(dims) + ", model " + shape_text(it->second.sizes().vec()) + ")");
      continue;
    }
    (is_head ? m.head_copies : m.copies).emplace_back(key, it->second);
  }
  for (const auto& [name, t] : targets) {
    if (starts_with(name, "backbone.") && !m.found.count(name)) m.missing.push_back(name.substr(9));
    // The head loads as a whole or not at all: half a classifier from another task is no use.
    if (starts_with(name, "head.") && !m.found.count(name))
      m.head_problems.push_back(head_prefix + name.substr(5) + " (missing from the file)");
  }
  return m;
}

// Every way the file does not fit the model, as one error.
void check_fit(const WeightMatch& m, bool head_error, const std::string& h5_path, const std::string& head_prefix) {
  if (m.missing.empty() && m.unexpected.empty() && m.mismatched.empty() && !head_error) return;
  std::string msg = h5_path + ": the torchvision weights do not fit the model";
  if (!m.missing.empty()) msg += "\n  missing from the file: " + join_keys(m.missing);
  if (!m.unexpected.empty())
    msg += "\n  unexpected in the file (no such parameter or buffer): " + join_keys(m.unexpected);
  if (!m.mismatched.empty()) msg += "\n  shape mismatch: " + join_keys(m.mismatched);
  if (head_error)
    msg += "\n  the head (" + head_prefix +
           "*) does not fit the model's (set model.allow_new_head to train a fresh "
           "one): " +
           join_keys(m.head_problems);
  throw Error(msg);
}

}  // namespace

void load_torchvision_weights(Model& model, const std::string& h5_path, bool allow_new_head) {
  const auto targets = model_tensors(model);
  bool has_head = false;
  for (const auto& [name, t] : targets) has_head = has_head || starts_with(name, "head.");
  auto file = h5::open_file(h5_path);
  const std::string head_prefix = model.backbone()->torchvision_head() + ".";
  WeightMatch m = match_weights(file, targets, head_prefix);
  const bool load_head = has_head && m.head_problems.empty();
  if (!has_head && !m.head_keys.empty())
    spdlog::info("{}: the model has no `head`, so {} is not loaded", h5_path, join_keys(m.head_keys));
  else if (has_head && !load_head && allow_new_head)
    spdlog::info("{}: keeping the model's freshly initialised head (model.allow_new_head): {}", h5_path,
                 join_keys(m.head_problems));
  check_fit(m, has_head && !load_head && !allow_new_head, h5_path, head_prefix);
  if (load_head) m.copies.insert(m.copies.end(), m.head_copies.begin(), m.head_copies.end());
  torch::NoGradGuard no_grad;
  for (auto& [key, dst] : m.copies) {
    // Read in the destination's dtype (HDF5 converts), then copy onto its device.
    auto buf = torch::empty(dst.sizes(), dst.options().device(torch::kCPU));
    std::vector<hsize_t> dims(dst.sizes().begin(), dst.sizes().end());
    h5::read_raw(file, key, h5_dtype(dst, key), buf.data_ptr(), dims);
    dst.copy_(buf);
  }
  spdlog::info("{}: loaded {} tensors{}", h5_path, m.copies.size(), load_head ? " (with the head)" : "");
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

}  // namespace aim::model
