#include "runner/checkpoint.h"

#include <torch/serialize.h>
#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "core/yaml_text.h"
#include "results/run_folder.h"

namespace aim {

namespace {

// Curves and sums travel as YAML text inside the archive; doubles use the shortest
// round-trip text, so a resumed run's curves are bit-identical.
YAML::Node doubles(const std::vector<double>& v) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (double d : v) n.push_back(format_double(d));
  return n;
}
template <class T>
YAML::Node ints(const std::vector<T>& v) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (auto d : v) n.push_back(int64_t(d));
  return n;
}
std::vector<double> read_doubles(const YAML::Node& n) {
  std::vector<double> v;
  for (auto x : n) v.push_back(std::stod(x.Scalar()));
  return v;
}
std::vector<int64_t> read_ints(const YAML::Node& n) {
  std::vector<int64_t> v;
  for (auto x : n) v.push_back(x.as<int64_t>());
  return v;
}

std::string state_to_yaml(const TrainState& s) {
  YAML::Node root;
  if (!s.run_id.empty()) root["run_id"] = s.run_id;
  if (!s.init_checkpoint_crc32.empty()) root["init_checkpoint_crc32"] = s.init_checkpoint_crc32;
  if (!s.init_result_crc32.empty()) root["init_result_crc32"] = s.init_result_crc32;
  root["epoch"] = s.epoch;
  root["step_in_epoch"] = s.step_in_epoch;
  root["global_step"] = s.global_step;
  root["world_size"] = s.world_size;
  for (const auto& c : s.class_names) root["class_names"].push_back(c);
  root["train_seconds"] = format_double(s.train_seconds);
  root["eval_seconds"] = format_double(s.eval_seconds);
  root["best_epoch"] = s.best_epoch;
  root["best_score"] = format_double(s.best_score);
  auto p = root["partial"];
  p["loss"] = format_double(s.partial.loss);
  p["correct"] = s.partial.correct;
  p["seen"] = s.partial.seen;
  for (const auto& [k, v] : s.partial.parts) p["parts"][k] = format_double(v);
  p["area_sum"] = doubles(s.partial.area_sum);
  p["area_sumsq"] = doubles(s.partial.area_sumsq);
  for (const auto& h : s.partial.area_hist) p["area_hist"].push_back(ints(h));
  for (const auto& [k, v] : s.partial.seconds) p["seconds"][k] = format_double(v);
  const auto& r = s.record;
  auto c = root["curves"];
  c["epoch"] = ints(r.curves.epoch);
  for (const auto& [k, v] : r.curves.series) c["series"][k] = doubles(v);
  for (const auto& [split, e] : r.eval_curves) {
    auto n = c["eval"][split];
    n["epoch"] = ints(e.epoch);
    n["accuracy"] = doubles(e.accuracy);
    n["worst_group_accuracy"] = doubles(e.worst_group_accuracy);
    n["loss"] = doubles(e.loss);
  }
  for (const auto& m : r.mask_curves) {
    YAML::Node n;
    n["stage"] = m.stage;
    n["bins"] = m.bins;
    n["active_mean"] = doubles(m.active_mean);
    n["active_std"] = doubles(m.active_std);
    n["target"] = doubles(m.target);
    n["histogram"] = doubles(m.histogram);
    c["masks"].push_back(n);
  }
  return yaml_flow_text(root);
}

void state_from_yaml(const std::string& text, TrainState& s) {
  YAML::Node root = YAML::Load(text);
  s.run_id = root["run_id"] ? root["run_id"].Scalar() : "";  // "": written before checkpoints named their run
  s.init_checkpoint_crc32 = root["init_checkpoint_crc32"] ? root["init_checkpoint_crc32"].Scalar() : "";
  s.init_result_crc32 = root["init_result_crc32"] ? root["init_result_crc32"].Scalar() : "";
  s.epoch = root["epoch"].as<int64_t>();
  s.step_in_epoch = root["step_in_epoch"].as<int64_t>();
  s.global_step = root["global_step"].as<int64_t>();
  s.world_size = root["world_size"].as<int64_t>();
  s.class_names.clear();
  if (root["class_names"])
    for (auto c : root["class_names"]) s.class_names.push_back(c.Scalar());
  s.train_seconds = std::stod(root["train_seconds"].Scalar());
  s.eval_seconds = std::stod(root["eval_seconds"].Scalar());
  s.best_epoch = root["best_epoch"] ? root["best_epoch"].as<int64_t>() : 0;
  s.best_score = root["best_score"] ? std::stod(root["best_score"].Scalar()) : 0.0;
  auto p = root["partial"];
  s.partial = EpochSums{};
  s.partial.loss = std::stod(p["loss"].Scalar());
  s.partial.correct = p["correct"].as<int64_t>();
  s.partial.seen = p["seen"].as<int64_t>();
  if (p["parts"])
    for (auto it : p["parts"]) s.partial.parts[it.first.Scalar()] = std::stod(it.second.Scalar());
  s.partial.area_sum = read_doubles(p["area_sum"]);
  s.partial.area_sumsq = read_doubles(p["area_sumsq"]);
  if (p["area_hist"])
    for (auto h : p["area_hist"]) s.partial.area_hist.push_back(read_ints(h));
  if (p["seconds"])
    for (auto it : p["seconds"]) s.partial.seconds[it.first.Scalar()] = std::stod(it.second.Scalar());
  auto c = root["curves"];
  auto& r = s.record;
  r.curves.epoch = read_ints(c["epoch"]);
  r.curves.series.clear();
  if (c["series"])
    for (auto it : c["series"]) r.curves.series[it.first.Scalar()] = read_doubles(it.second);
  r.eval_curves.clear();
  if (c["eval"])
    for (auto it : c["eval"]) {
      results::EvalCurve e;
      e.epoch = read_ints(it.second["epoch"]);
      e.accuracy = read_doubles(it.second["accuracy"]);
      e.worst_group_accuracy = read_doubles(it.second["worst_group_accuracy"]);
      e.loss = read_doubles(it.second["loss"]);
      r.eval_curves[it.first.Scalar()] = e;
    }
  r.mask_curves.clear();
  if (c["masks"])
    for (auto n : c["masks"]) {
      results::MaskCurve m;
      m.stage = n["stage"].as<int64_t>();
      m.bins = n["bins"].as<int64_t>();
      m.active_mean = read_doubles(n["active_mean"]);
      m.active_std = read_doubles(n["active_std"]);
      m.target = read_doubles(n["target"]);
      m.histogram = read_doubles(n["histogram"]);
      r.mask_curves.push_back(m);
    }
}

// The file: a header line "AIMCKPT1 crc32=<8 hex> bytes=<n> run=<run id>\n", then the torch
// archive (a zip) of n bytes. The CRC covers every byte of the archive, so a flipped bit
// anywhere in the tensors is found before anything is resumed from it. The run id (also in
// the archive's state, under the CRC) binds the file to its run: the header's copy lets a
// reader tell whose file it is without reading the archive.
constexpr const char* kMagic = "AIMCKPT1";
constexpr const char* kRunField = " run=";

uint32_t crc_of(const std::string& bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = reinterpret_cast<const Bytef*>(bytes.data());
  size_t left = bytes.size();
  while (left > 0) {  // crc32() takes 32-bit lengths
    uInt n = uInt(std::min<size_t>(left, 1u << 30));
    crc = crc32(crc, p, n);
    p += n;
    left -= n;
  }
  return uint32_t(crc);
}

std::string with_header(const std::string& archive, const std::string& run_id) {
  char head[64];
  std::snprintf(head, sizeof head, "%s crc32=%08x bytes=%zu", kMagic, crc_of(archive), archive.size());
  return head + (run_id.empty() ? "" : kRunField + run_id) + "\n" + archive;
}

// The run id of a header line ("" when it names none: written before checkpoints did).
std::string header_run_id(const std::string& head) {
  const auto at = head.find(kRunField);
  return at == std::string::npos ? "" : head.substr(at + std::strlen(kRunField));
}

// What repairs a damaged checkpoint: training the run from the start (a complete run's
// weights are lost with it: --force, or a run that starts from it would stop at its missing
// checkpoint).
std::string damaged_advice(const std::string& path) {
  const RunPaths run{std::filesystem::path(path).parent_path().string()};
  return " (the file is damaged: " + train_again_command(run, std::filesystem::exists(run.result()), true) +
         " trains the run from the start)";
}

// A checkpoint read for run `run_id` must be that run's ("" reads any: a caller that does not
// know the run). Another run's file was copied or moved here: it is never resumed from.
void check_run(const std::string& path, const std::string& found, const std::string& run_id) {
  if (run_id.empty() || found.empty() || found == run_id) return;
  throw DataError(path + ": the checkpoint of run " + found + ", not of run " + run_id +
                  " (the run it was read for): another run's file was put here; delete it, or run `aimrun train "
                  "--restart`, to train run " +
                  run_id + " from the start");
}

struct Archive {
  std::string bytes, run_id;  // run_id: the header's ("" for a file without one)
};

// The archive's bytes, verified, and the run its header names. Files from before the
// header are read as they are.
Archive verified_archive(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read the checkpoint: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  // A torch archive (a zip: "PK\3\4") alone was written before the header. Anything else
  // must carry the header: a flipped bit in it, an empty or cut file, is damage, never an
  // archive of another layout.
  if (data.rfind(std::string("PK\3\4", 4), 0) == 0) return {data, ""};
  auto eol = data.find('\n');
  unsigned crc = 0;
  size_t bytes = 0;
  if (data.rfind(kMagic, 0) != 0 || eol == std::string::npos ||
      std::sscanf(data.c_str(), "AIMCKPT1 crc32=%8x bytes=%zu", &crc, &bytes) != 2)
    throw Error(path + ": corrupt checkpoint header" + damaged_advice(path));
  Archive out{data.substr(eol + 1), header_run_id(data.substr(0, eol))};
  if (out.bytes.size() != bytes)
    throw Error(path + ": truncated checkpoint: " + std::to_string(out.bytes.size()) + " of " + std::to_string(bytes) +
                " bytes" + damaged_advice(path));
  if (crc_of(out.bytes) != crc) throw Error(path + ": checkpoint checksum mismatch" + damaged_advice(path));
  return out;
}

// Reads the archive (verified) and its state; the state's run id (under the CRC) must be the
// header's, and the run's it is read for.
void load_archive(torch::serialize::InputArchive& archive, const std::string& path, const std::string& run_id,
                  c10::Device device, TrainState& state) {
  auto verified = verified_archive(path);
  std::istringstream in(verified.bytes);
  archive.load_from(in, device);
  c10::IValue text;
  archive.read("state", text);
  state_from_yaml(text.toStringRef(), state);
  if (state.run_id != verified.run_id)
    throw Error(path + ": the header names run '" + verified.run_id + "', the state inside run '" + state.run_id + "'" +
                damaged_advice(path));
  check_run(path, state.run_id, run_id);
}

std::vector<torch::Tensor> read_best_weights(torch::serialize::InputArchive& archive) {
  std::vector<torch::Tensor> out;
  torch::Tensor count;
  if (!archive.try_read("best_count", count)) return out;  // written before eval.select
  for (int64_t i = 0; i < count.item<int64_t>(); ++i) {
    torch::Tensor t;
    archive.read("best_" + std::to_string(i), t);
    out.push_back(t);
  }
  return out;
}

}  // namespace

void save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                     const TrainState& state) {
  torch::serialize::OutputArchive archive, model_archive, optim_archive;
  model.save(model_archive);
  optimizer.save(optim_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optim_archive);
  archive.write("state", c10::IValue(state_to_yaml(state)));
  archive.write("rng_count", torch::tensor(int64_t(state.rng_states.size())));
  for (size_t i = 0; i < state.rng_states.size(); ++i) archive.write("rng_" + std::to_string(i), state.rng_states[i]);
  archive.write("best_count", torch::tensor(int64_t(state.best_weights.size())));
  for (size_t i = 0; i < state.best_weights.size(); ++i) archive.write("best_" + std::to_string(i), state.best_weights[i]);
  std::ostringstream bytes;
  try {
    archive.save_to(bytes);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot serialise the checkpoint: " + e.what_without_backtrace());
  }
  write_file_atomic(path, with_header(bytes.str(), state.run_id));
}

bool load_checkpoint(const std::string& path, const std::string& run_id, torch::nn::Module& model,
                     torch::optim::Optimizer& optimizer, TrainState& state, c10::Device device) {
  if (!std::filesystem::exists(path)) return false;
  try {
    torch::serialize::InputArchive archive, model_archive, optim_archive;
    load_archive(archive, path, run_id, device, state);
    archive.read("model", model_archive);
    archive.read("optimizer", optim_archive);
    model.load(model_archive);
    optimizer.load(optim_archive);
    torch::Tensor count;
    archive.read("rng_count", count);
    state.rng_states.clear();
    for (int64_t i = 0; i < count.item<int64_t>(); ++i) {
      torch::Tensor t;
      archive.read("rng_" + std::to_string(i), t);
      state.rng_states.push_back(t.cpu());
    }
    state.best_weights = read_best_weights(archive);
  } catch (const c10::Error& e) {
    throw Error(path + ": unreadable checkpoint (delete it to start the run afresh): " + e.what_without_backtrace());
  } catch (const YAML::Exception& e) {
    throw Error(path + ": checkpoint state is corrupt (delete it to start afresh): " + e.what());
  }
  return true;
}

TrainState read_checkpoint_state(const std::string& path, const std::string& run_id) {
  if (!std::filesystem::exists(path)) throw Error(path + ": no checkpoint (has the run trained at least one epoch?)");
  TrainState state;
  try {
    torch::serialize::InputArchive archive;
    load_archive(archive, path, run_id, c10::Device(c10::kCPU), state);
  } catch (const c10::Error& e) {
    throw Error(path + ": unreadable checkpoint: " + e.what_without_backtrace());
  } catch (const YAML::Exception& e) {
    throw Error(path + ": checkpoint state is corrupt: " + e.what());
  }
  return state;
}

void load_checkpoint_model(const std::string& path, const std::string& run_id, torch::nn::Module& model) {
  try {
    torch::serialize::InputArchive archive, model_archive;
    TrainState state;
    load_archive(archive, path, run_id, c10::Device(c10::kCPU), state);
    archive.read("model", model_archive);
    model.load(model_archive);
    // A run with eval.select keeps the weights it evaluated: those are the trained run's.
    auto best = read_best_weights(archive);
    if (!best.empty()) apply_weights(model, best);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot load the model from the checkpoint: " + e.what_without_backtrace());
  } catch (const YAML::Exception& e) {
    throw Error(path + ": checkpoint state is corrupt: " + e.what());
  }
}

std::string checkpoint_run_id(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head;
  if (!in || !std::getline(in, head) || head.rfind(kMagic, 0) != 0) return "";
  return header_run_id(head);
}

uint32_t checkpoint_crc32(const std::string& path) {
  unsigned crc = 0;
  size_t bytes = 0;
  std::ifstream in(path, std::ios::binary);
  std::string head;
  if (in && std::getline(in, head) && std::sscanf(head.c_str(), "AIMCKPT1 crc32=%8x bytes=%zu", &crc, &bytes) == 2)
    return crc;
  return crc_of(verified_archive(path).bytes);  // a file from before the header: its bytes
}

std::vector<torch::Tensor> copy_weights(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  for (const auto& p : model.parameters()) out.push_back(p.detach().clone());
  for (const auto& b : model.buffers()) out.push_back(b.detach().clone());
  return out;
}

void apply_weights(torch::nn::Module& model, const std::vector<torch::Tensor>& weights) {
  torch::NoGradGuard no_grad;
  auto params = model.parameters();
  auto buffers = model.buffers();
  if (weights.size() != params.size() + buffers.size())
    throw Error("kept weights: " + std::to_string(weights.size()) + " tensors, the model has " +
                std::to_string(params.size() + buffers.size()));
  size_t i = 0;
  for (auto& p : params) p.copy_(weights[i++]);
  for (auto& b : buffers) b.copy_(weights[i++]);
}

}  // namespace aim
