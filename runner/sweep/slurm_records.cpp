#include "runner/sweep/slurm_records.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "core/yaml_text.h"
#include "runner/sweep/slurm_command.h"

namespace fs = std::filesystem;

namespace aim {

size_t Submission::runs() const {
  size_t n = 0;
  for (const auto& p : parts) n += p.run_ids.size();
  return n;
}

void record_submission(const std::string& dir, const Submission& sub, const std::string& profile,
                       const std::string& stamp) {
  YAML::Node record;
  const std::string record_path = dir + "/submissions.yaml";
  if (fs::exists(record_path)) record = YAML::LoadFile(record_path);
  YAML::Node entry;
  entry["submitted"] = stamp;
  entry["profile"] = profile;
  if (!sub.stage.empty()) entry["stage"] = sub.stage;
  if (!sub.dependency.empty()) entry["dependency"] = sub.dependency;
  for (const auto& p : sub.parts) {
    YAML::Node part;
    part["job_id"] = p.job_id;
    part["script"] = p.script;
    if (p.throttle > 0) part["throttle"] = p.throttle;
    if (!p.dependency.empty()) part["dependency"] = p.dependency;
    for (const auto& id : p.run_ids) part["runs"].push_back(id);
    entry["parts"].push_back(part);
  }
  record.push_back(entry);
  write_text_atomic(record_path, yaml_block_text(record));
}

namespace slurm_records {

SubmittedArray read_part(const YAML::Node& e) {
  SubmittedArray p;
  p.job_id = e["job_id"].as<std::string>();
  p.script = e["script"] ? e["script"].as<std::string>() : "";
  p.dependency = e["dependency"] ? e["dependency"].as<std::string>() : "";
  for (auto r : e["runs"]) p.run_ids.push_back(r.as<std::string>());
  return p;
}

}  // namespace slurm_records

std::vector<Submission> read_submissions(const Sweep& sweep) {
  std::vector<Submission> out;
  const std::string path = sweep.sweep_dir() + "/slurm/submissions.yaml";
  if (!fs::exists(path)) return out;
  try {
    for (auto e : YAML::LoadFile(path)) {
      Submission s;
      s.stage = e["stage"] ? e["stage"].as<std::string>() : "";
      s.dependency = e["dependency"] ? e["dependency"].as<std::string>() : "";
      if (e["parts"]) {
        for (auto p : e["parts"]) s.parts.push_back(slurm_records::read_part(p));
      } else {
        s.parts.push_back(slurm_records::read_part(e));  // one array, as recorded before parts
      }
      out.push_back(s);
    }
  } catch (const YAML::Exception& e) {
    throw Error(path + ": unreadable submission record: " + e.what());
  }
  return out;
}

std::map<std::string, SlurmElement> slurm_run_states(const Sweep& sweep, std::string* error) {
  std::map<std::string, SlurmElement> out;
  std::map<std::string, const SubmittedArray*> arrays;  // by job id
  const auto subs = read_submissions(sweep);
  for (const auto& s : subs)
    for (const auto& p : s.parts) arrays[p.job_id] = &p;
  if (arrays.empty()) return out;
  int status = 0;
  // All of squeue (-r: one line per array element, pending ones included), filtered here:
  // asking for finished job ids makes squeue fail.
  std::string text = run_capture({"squeue", "-h", "-r", "-o", "%i %T"}, "", &status);
  if (status != 0) {
    if (error) *error = "squeue failed (exit " + std::to_string(status) + "): " + trim(text.substr(0, text.find('\n')));
    return out;
  }
  std::istringstream in(text);
  std::string id, state;
  while (in >> id >> state) {
    auto us = id.find('_');
    if (us == std::string::npos) continue;
    auto it = arrays.find(id.substr(0, us));
    if (it == arrays.end()) continue;
    const std::string index = id.substr(us + 1);
    if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos || index.size() > 9) continue;
    const size_t idx = std::stoul(index);
    if (idx < it->second->run_ids.size()) out[it->second->run_ids[idx]] = {id, state};
  }
  return out;
}

}  // namespace aim
