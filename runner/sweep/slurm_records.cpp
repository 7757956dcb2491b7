#include "runner/sweep/slurm_records.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/strings.h"
#include "core/yaml_text.h"

namespace fs = std::filesystem;

namespace aim {

size_t Submission::runs() const {
  size_t n = 0;
  for (const auto& p : parts) n += p.run_ids.size();
  return n;
}

std::string submission_record_path(const Sweep& sweep) { return sweep.sweep_dir() + "/slurm/submissions.yaml"; }

std::string rebuild_records_command(const Sweep& sweep) {
  return "aimrun sweep submit " + shell_quote(sweep.spec_path) +
         " --profile <its profile> --rebuild-records (it reads the sweep's jobs from squeue and their run lists, and "
         "keeps the old file as submissions.yaml.damaged)";
}

namespace slurm_records {

// The record's first line, and the start of its last: "# crc32 <8 hex digits> <bytes before this line>".
const std::string kHead = "# aimrun sweep submit: the arrays it queued; checked whole, do not edit (docs/sweeps.md)\n";
const std::string kCheck = "# crc32 ";

[[noreturn]] void refuse(const std::string& path, const std::string& what, const std::string& rebuild) {
  throw ConfigError(path + ": " + what + "; nothing is queued or shown from it: rebuild it from squeue with " +
                    rebuild);
}

// A node's line in the file (the body starts on its second line).
std::string where(const YAML::Node& n) { return "line " + std::to_string(n.Mark().line + 2) + ": "; }

std::string scalar(const YAML::Node& e, const char* key, bool required, const std::string& path,
                   const std::string& rebuild) {
  const YAML::Node v = e[key];
  if (!v) {
    if (required) refuse(path, where(e) + "an entry without `" + std::string(key) + "`", rebuild);
    return "";
  }
  if (!v.IsScalar()) refuse(path, where(v) + "`" + std::string(key) + "` is not a single value", rebuild);
  return v.Scalar();
}

bool digits(const std::string& s) {
  return !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos;
}

SubmittedArray read_part(const YAML::Node& e, const std::string& path, const std::string& rebuild) {
  if (!e.IsMap()) refuse(path, where(e) + "an array that is not a mapping", rebuild);
  SubmittedArray p;
  p.job_id = scalar(e, "job_id", true, path, rebuild);
  if (!digits(p.job_id)) refuse(path, where(e["job_id"]) + "job_id '" + p.job_id + "' is not a Slurm job id", rebuild);
  p.script = scalar(e, "script", false, path, rebuild);
  p.dependency = scalar(e, "dependency", false, path, rebuild);
  const std::string throttle = scalar(e, "throttle", false, path, rebuild);
  if (!throttle.empty()) {
    if (!digits(throttle) || throttle.size() > 9)
      refuse(path, where(e["throttle"]) + "throttle is not a count", rebuild);
    p.throttle = std::stoi(throttle);
  }
  const YAML::Node runs = e["runs"];
  if (!runs || !runs.IsSequence() || runs.size() == 0)
    refuse(path, where(e) + "job " + p.job_id + " has no list of runs", rebuild);
  for (const auto& r : runs) {
    if (!r.IsScalar() || r.Scalar().empty() || r.Scalar() == "." || r.Scalar() == ".." ||
        r.Scalar().find_first_of("/\n") != std::string::npos)
      refuse(path, where(r) + "job " + p.job_id + ": a run that is not a run id", rebuild);
    p.run_ids.push_back(r.Scalar());
  }
  return p;
}

Submission read_entry(const YAML::Node& e, const std::string& path, const std::string& rebuild) {
  if (!e.IsMap()) refuse(path, where(e) + "a submission that is not a mapping", rebuild);
  Submission s;
  s.stage = scalar(e, "stage", false, path, rebuild);
  s.dependency = scalar(e, "dependency", false, path, rebuild);
  const YAML::Node parts = e["parts"];
  if (!parts) {
    s.parts.push_back(read_part(e, path, rebuild));  // one array, as recorded before parts
    return s;
  }
  if (!parts.IsSequence() || parts.size() == 0) refuse(path, where(parts) + "`parts` is not a list of arrays", rebuild);
  for (const auto& p : parts) s.parts.push_back(read_part(p, path, rebuild));
  return s;
}

// The body of a record (without its first and last line), or a refusal naming what is
// wrong. `text` starts with kHead.
std::string checked_body(const std::string& text, const std::string& path, const std::string& rebuild) {
  if (text.back() != '\n') refuse(path, "cut short (its last line is not whole)", rebuild);
  const size_t last = text.rfind('\n', text.size() - 2);
  const std::string line = text.substr(last + 1, text.size() - last - 2);
  if (line.compare(0, kCheck.size(), kCheck) != 0)
    refuse(path, "cut short or changed: its last line is not its checksum (\"# crc32 ...\")", rebuild);
  std::istringstream in(line.substr(kCheck.size()));
  std::string crc, bytes, extra;
  in >> crc >> bytes >> extra;
  const std::string before = text.substr(0, last + 1);
  if (!extra.empty() || crc.size() != 8 || !digits(bytes) || bytes != std::to_string(before.size()))
    refuse(path,
           "cut short or changed: its checksum line says " + line.substr(kCheck.size()) + ", the file has " +
               std::to_string(before.size()) + " bytes before it",
           rebuild);
  if (crc != hex32(crc32_of(before)))
    refuse(path, "changed since it was written: CRC-32 " + hex32(crc32_of(before)) + ", recorded " + crc, rebuild);
  return before.substr(kHead.size());
}

}  // namespace slurm_records

std::vector<Submission> parse_submission_record(const std::string& text, const std::string& path,
                                                const std::string& rebuild) {
  using namespace slurm_records;
  if (text.empty()) refuse(path, "the file is empty", rebuild);
  if (text.compare(0, kHead.size(), kHead) != 0)
    refuse(path,
           kHead.compare(0, text.size(), text) == 0
               ? "cut short (it ends within its first line)"
               : "its first line is not aimrun's (changed, or written without a checksum by an aimrun before "
                 "2026-12-07)",
           rebuild);
  const std::string body = checked_body(text, path, rebuild);
  YAML::Node doc;
  try {
    doc = YAML::Load(body);
  } catch (const YAML::Exception& e) {
    refuse(path, "not YAML: " + std::string(e.what()), rebuild);
  }
  if (!doc.IsSequence())
    refuse(path,
           std::string(doc.IsNull()     ? "holds no submissions"
                       : doc.IsScalar() ? "a single value"
                                        : "a mapping") +
               ", where a list of submissions was expected",
           rebuild);
  if (doc.size() == 0) refuse(path, "an empty list of submissions", rebuild);
  std::vector<Submission> out;
  for (const auto& e : doc) out.push_back(read_entry(e, path, rebuild));
  return out;
}

std::vector<Submission> read_submissions(const Sweep& sweep) {
  const std::string path = submission_record_path(sweep);
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return {};
  return parse_submission_record(read_text(path), path, rebuild_records_command(sweep));
}

namespace slurm_records {

YAML::Node entry_node(const Submission& sub, const std::string& profile, const std::string& stamp) {
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
  return entry;
}

// The record's text: its first line, the entries, the checksum line.
std::string record_text(const YAML::Node& entries) {
  const std::string before = kHead + yaml_block_text(entries);
  return before + kCheck + hex32(crc32_of(before)) + " " + std::to_string(before.size()) + "\n";
}

}  // namespace slurm_records

void record_submission(const std::string& path, const Sweep& sweep, const Submission& sub, const std::string& profile,
                       const std::string& stamp) {
  using namespace slurm_records;
  YAML::Node record(YAML::NodeType::Sequence);
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec))) {
    // Checked first: entries appended to a damaged record would be read back as its own.
    const std::string text = read_text(path);
    parse_submission_record(text, path, rebuild_records_command(sweep));
    record = YAML::Load(checked_body(text, path, ""));
  }
  record.push_back(entry_node(sub, profile, stamp));
  write_text_atomic(path, record_text(record));
}

void write_submission_record(const std::string& path, const std::vector<Submission>& subs,
                             const std::vector<std::string>& profiles, const std::string& stamp) {
  using namespace slurm_records;
  if (subs.empty()) {
    std::error_code ec;
    fs::remove(path, ec);
    if (ec) throw Error(path + ": cannot remove: " + ec.message());
    return;
  }
  YAML::Node record(YAML::NodeType::Sequence);
  for (size_t i = 0; i < subs.size(); ++i)
    record.push_back(entry_node(subs[i], i < profiles.size() ? profiles[i] : "", stamp));
  write_text_atomic(path, record_text(record));
}

}  // namespace aim
