#include "runner/session_ledger.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <type_traits>
#include <utility>
#include <variant>
#include <unistd.h>

#include "core/exit_codes.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/host.h"
#include "core/strings.h"

namespace aim {


namespace {

double now() { return double(std::time(nullptr)); }

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += char(c);
    else if (c == '\n') out += "\\n";
    else if (c < 0x20) out += ' ';
    else out += char(c);
  }
  return out + "\"";
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// A ledger line ends with the CRC-32 of everything before its checksum field:
//   {"event": ..., "pid": 12, "crc32": "1a2b3c4d"}
// (the Slurm job script writes its end lines the same way, runner/sweep/slurm_script.cpp).
constexpr char kCrcField[] = ", \"crc32\": \"";
constexpr size_t kCrcFieldBytes = sizeof(kCrcField) - 1, kCrcSuffixBytes = kCrcFieldBytes + 8 + 2;

std::string with_checksum(const std::string& body) { return body + kCrcField + hex32(crc32_of(body)) + "\"}\n"; }

std::string to_json(const SessionEntry& e) {
  std::ostringstream s;
  s << "{\"event\": " << json_string(e.event) << ", \"time\": " << int64_t(e.time)
    << ", \"iso\": " << json_string(local_time_iso(e.time)) << ", \"hosts\": " << json_string(e.hosts)
    << ", \"slurm\": " << json_string(e.slurm_job) << ", \"pid\": " << getpid();
  if (e.event == "end")
    s << ", \"by\": " << json_string(e.by) << ", \"exit_code\": " << e.exit_code << ", \"cause\": " << json_string(e.cause)
      << ", \"checkpoint_epoch\": " << e.epoch << ", \"checkpoint_step\": " << e.step
      << ", \"lost_seconds\": " << format_double(std::round(e.lost_s * 10) / 10);
  return with_checksum(s.str());
}

}  // namespace

std::string progress_path(const RunPaths& paths) { return paths.progress(); }

namespace {

// The fields of progress.json, in the order they are written.
using ProgressField = std::variant<double ProgressInfo::*, int64_t ProgressInfo::*>;
const std::pair<const char*, ProgressField> kProgressFields[] = {
    {"time", &ProgressInfo::time},
    {"epoch", &ProgressInfo::epoch},
    {"epochs", &ProgressInfo::epochs},
    {"step", &ProgressInfo::step},
    {"steps_per_epoch", &ProgressInfo::steps_per_epoch},
    {"loss", &ProgressInfo::loss},
    {"images_per_s", &ProgressInfo::images_per_s},
    {"eta_seconds", &ProgressInfo::eta_s},
    {"checkpoint_epoch", &ProgressInfo::checkpoint_epoch},
    {"checkpoint_step", &ProgressInfo::checkpoint_step},
    {"checkpoint_time", &ProgressInfo::checkpoint_time},
    {"train_seconds", &ProgressInfo::train_seconds}};

void write_json_number(std::ostream& s, double v) { s << (std::isfinite(v) ? format_double(v) : "null"); }
void write_json_number(std::ostream& s, int64_t v) { s << v; }

}  // namespace

void write_progress(const RunPaths& paths, const ProgressInfo& p) {
  std::ostringstream s;
  const char* separator = "{";
  for (const auto& field : kProgressFields) {
    s << separator << "\"" << field.first << "\": ";
    std::visit([&](auto member) { write_json_number(s, p.*member); }, field.second);
    separator = ", ";
  }
  s << "}\n";
  write_text_atomic(paths.progress(), s.str());
}

bool read_progress(const RunPaths& paths, ProgressInfo& p) {
  try {
    auto n = YAML::LoadFile(paths.progress());
    for (const auto& field : kProgressFields) {
      auto value = n[field.first];
      if (!value || value.IsNull()) continue;
      std::visit([&](auto member) { p.*member = value.as<std::decay_t<decltype(p.*member)>>(); }, field.second);
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

namespace {

// A line's body (its JSON object without the checksum) when its checksum matches; "" with
// `why` set when it carries none (`checked` false) or a wrong one.
std::string checked_body(const std::string& line, bool& checked, std::string& why) {
  const size_t n = line.size();
  checked = n >= kCrcSuffixBytes && line.compare(n - kCrcSuffixBytes, kCrcFieldBytes, kCrcField) == 0 &&
            line.compare(n - 2, 2, "\"}") == 0;
  if (!checked) {
    why = "no checksum";
    return "";
  }
  const std::string body = line.substr(0, n - kCrcSuffixBytes);
  if (line.compare(n - 10, 8, hex32(crc32_of(body))) != 0) {
    why = "checksum mismatch";
    return "";
  }
  return body + "}";
}

SessionEntry entry_of(const YAML::Node& n) {
  SessionEntry e;
  e.event = n["event"].as<std::string>();
  if (n["time"]) e.time = n["time"].as<double>();
  if (n["hosts"]) e.hosts = n["hosts"].as<std::string>();
  if (n["slurm"]) e.slurm_job = n["slurm"].as<std::string>();
  if (n["by"]) e.by = n["by"].as<std::string>();
  if (n["exit_code"]) e.exit_code = n["exit_code"].as<int>();
  if (n["cause"]) e.cause = n["cause"].as<std::string>();
  if (n["checkpoint_epoch"]) e.epoch = n["checkpoint_epoch"].as<int64_t>();
  if (n["checkpoint_step"]) e.step = n["checkpoint_step"].as<int64_t>();
  if (n["lost_seconds"]) e.lost_s = n["lost_seconds"].as<double>();
  if (e.event == "end" && e.cause.empty()) e.cause = describe_exit(e.exit_code);  // the sbatch wrapper's
  return e;
}

}  // namespace

std::vector<SessionEntry> read_ledger(const RunPaths& paths, std::vector<std::string>* damaged) {
  std::vector<SessionEntry> out;
  std::ifstream in(paths.ledger());
  std::string line;
  bool seen_checked = false;  // lines before the first with a checksum were written before checksums
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    bool checked = false;
    std::string why, text = checked_body(line, checked, why);
    if (checked) seen_checked = true;
    if (!checked && !seen_checked) text = line;  // an older aimrun's line: read as it was, unchecked
    try {
      if (text.empty()) throw std::runtime_error(why);
      auto n = YAML::Load(text);
      if (!n.IsMap() || !n["event"] || !n["event"].IsScalar()) throw std::runtime_error("not a session record");
      out.push_back(entry_of(n));
    } catch (const std::exception& e) {  // YAML's errors too: a line cut short, a damaged one
      const std::string where = paths.ledger() + ":" + std::to_string(number);
      const std::string what = dynamic_cast<const YAML::Exception*>(&e) ? "not a JSON object" : e.what();
      spdlog::warn("{}: damaged session record ({}), not read", where, what);
      if (damaged) damaged->push_back(where + ": " + what);
    }
  }
  return out;
}

void append_session(const RunPaths& paths, const SessionEntry& e) {
  // One short line in one O_APPEND write, after a torn last line is ended (append_line): a
  // line a full disk cut short costs that line only, also with the sbatch wrapper appending.
  // The ledger explains, it is not a result: a failed append is reported and training goes on.
  if (int err = append_line(paths.ledger(), to_json(e))) spdlog::warn("{}", write_error(paths.ledger(), err));
}

std::string describe_exit(int code) {
  if (code == kExitOk) return "complete";
  if (code == kExitStopped) return "stopped for requeue (preempted or near its time limit)";
  if (code == kExitConfig) return "config error";
  if (code == kExitError) return "failed";
  if (code > 128 && code < 128 + 65) {
    int sig = code - 128;
    std::string name = sigabbrev_np(sig) ? std::string("SIG") + sigabbrev_np(sig) : std::to_string(sig);
    std::string why = sig == SIGKILL ? " (out of memory, a time limit or scancel?)"
                      : sig == SIGTERM ? " (time limit or scancel?)"
                      : sig == SIGSEGV || sig == SIGABRT || sig == SIGBUS ? " (a crash)"
                                                                         : "";
    return "killed by signal " + std::to_string(sig) + " (" + name + ")" + why;
  }
  return "exit code " + std::to_string(code);
}

namespace {

// An end for a session that has none: the process was killed before it could write one.
SessionEntry inferred_end(const RunPaths& paths, const SessionEntry& start, const std::string& by) {
  SessionEntry e;
  e.event = "end";
  e.by = by;
  e.hosts = start.hosts;
  e.slurm_job = start.slurm_job;
  e.exit_code = -1;
  e.cause = "ended without a record: killed (SIGKILL, out of memory, node failure or time limit)";
  ProgressInfo p;
  if (read_progress(paths, p) && p.time >= start.time) {
    e.time = p.time;  // last seen alive
    e.epoch = p.checkpoint_epoch;
    e.step = p.checkpoint_step;
    e.lost_s = p.checkpoint_time > 0 ? std::max(0.0, p.time - std::max(p.checkpoint_time, start.time)) : p.time - start.time;
  } else {
    e.time = start.time;
  }
  return e;
}

}  // namespace

void ledger_start(const RunPaths& paths, const std::string& hosts) {
  auto entries = read_ledger(paths);
  if (!entries.empty() && entries.back().event == "start") append_session(paths, inferred_end(paths, entries.back(), "next session"));
  SessionEntry e;
  e.event = "start";
  e.time = now();
  e.hosts = hosts;
  e.slurm_job = slurm_ids();
  append_session(paths, e);
}

void ledger_end(const RunPaths& paths, int exit_code, const std::string& cause) {
  auto entries = read_ledger(paths);
  SessionEntry e;
  e.event = "end";
  e.time = now();
  e.by = "aimrun";
  e.exit_code = exit_code;
  e.cause = cause.empty() ? describe_exit(exit_code) : cause;
  e.slurm_job = slurm_ids();
  if (!entries.empty() && entries.back().event == "start") e.hosts = entries.back().hosts;
  ProgressInfo p;
  if (read_progress(paths, p)) {
    e.epoch = p.checkpoint_epoch;
    e.step = p.checkpoint_step;
    if (exit_code != kExitOk && exit_code != kExitStopped && p.checkpoint_time > 0)
      e.lost_s = std::max(0.0, p.time - p.checkpoint_time);
  }
  append_session(paths, e);
}

std::string ledger_summary(const RunPaths& paths) {
  std::vector<std::string> damaged;
  auto entries = read_ledger(paths, &damaged);
  const std::string left_out =
      damaged.empty() ? ""
                      : "; " + std::to_string(damaged.size()) + " damaged ledger line(s) left out (" + damaged[0] + ")";
  if (entries.empty()) return left_out.empty() ? "" : left_out.substr(2);
  int stops = 0, kills = 0;
  double lost = 0;
  SessionEntry last;
  for (size_t i = 0; i < entries.size(); ++i) {
    auto e = entries[i];
    if (e.event == "start" && (i + 1 == entries.size())) continue;  // the current or last session, no end yet
    if (e.event != "end") continue;
    if (e.exit_code == kExitStopped) ++stops;
    if (e.exit_code < 0 || e.exit_code > 128) ++kills;
    lost += e.lost_s;
    last = e;
  }
  std::ostringstream s;
  if (entries.back().event == "start") {
    auto end = inferred_end(paths, entries.back(), "status");
    last = end;
    ++kills;
    lost += end.lost_s;
  }
  if (last.event.empty()) return left_out.empty() ? "" : left_out.substr(2);
  s << "last: " << last.cause;
  if (stops) s << "; preempted " << stops << (stops == 1 ? " time" : " times");
  if (kills) s << "; killed " << kills << (kills == 1 ? " time" : " times");
  if (lost > 0) s << ", " << format_duration(lost) << " lost";
  return s.str() + left_out;
}

std::string slurm_ids() {
  std::string job = env("SLURM_JOB_ID");
  if (job.empty()) return "";
  std::string out = "job " + job;
  if (!env("SLURM_ARRAY_JOB_ID").empty()) out += " (array " + env("SLURM_ARRAY_JOB_ID") + "_" + env("SLURM_ARRAY_TASK_ID") + ")";
  if (!env("SLURM_RESTART_COUNT").empty()) out += ", restart " + env("SLURM_RESTART_COUNT");
  return out;
}


}  // namespace aim
