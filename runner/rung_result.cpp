#include "runner/rung_result.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <sstream>

#include "core/files.h"

namespace aim {

std::string rung_result_path(const RunPaths& paths, int64_t epoch) {
  return paths.dir + "/rung-" + std::to_string(epoch) + ".yaml";
}

namespace rung_result {

std::string exact(double v) {
  std::ostringstream o;
  o.precision(17);
  o << v;
  return o.str();
}

}  // namespace rung_result

void write_rung_result(const RunPaths& paths, const RungResult& r) {
  std::ostringstream o;
  o << "# aimrun rung result: the run's validation at a training budget (docs/sweeps.md, Search)\n"
    << "run_id: " << r.run_id << "\nepoch: " << r.epoch << "\nepochs: " << r.epochs << "\nsplit: " << r.split
    << "\nseconds: " << rung_result::exact(r.seconds) << "\nmetrics:\n";
  for (const auto& [k, v] : r.metrics) o << "  " << k << ": " << rung_result::exact(v) << "\n";
  write_text_atomic(rung_result_path(paths, r.epoch), o.str());
}

std::optional<RungResult> read_rung_result(const RunPaths& paths, int64_t epoch, const std::string& run_id,
                                           std::string* problem) {
  const std::string path = rung_result_path(paths, epoch);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  auto fail = [&](const std::string& why) -> std::optional<RungResult> {
    if (problem) *problem = path + ": " + why;
    return std::nullopt;
  };
  try {
    const YAML::Node n = YAML::LoadFile(path);
    RungResult r;
    r.run_id = n["run_id"].as<std::string>();
    r.epoch = n["epoch"].as<int64_t>();
    r.epochs = n["epochs"].as<int64_t>();
    r.split = n["split"].as<std::string>();
    r.seconds = n["seconds"].as<double>();
    for (auto it : n["metrics"]) r.metrics[it.first.as<std::string>()] = it.second.as<double>();
    if (r.run_id != run_id) return fail("the rung result of run " + r.run_id + ", not of " + run_id);
    if (r.epoch != epoch) return fail("the rung result of epoch " + std::to_string(r.epoch));
    return r;
  } catch (const std::exception& e) {
    return fail(std::string("unreadable: ") + e.what());
  }
}

}  // namespace aim
