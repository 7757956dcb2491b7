#include "runner/cli/report_html.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "core/files.h"
#include "core/json.h"
#include "core/strings.h"
#include "results/run_folder.h"
#include "runner/session_ledger.h"

extern char** environ;
namespace fs = std::filesystem;

namespace aim::cli {

namespace {

// One JSON object a line per run found: its state, detail, the ledger's last cause, and what
// went NaN or inf in a complete run ("" when nothing did).
std::string runs_jsonl(const std::vector<results::FoundRun>& runs) {
  std::ostringstream s;
  for (const auto& r : runs) {
    std::string cause;
    std::error_code ec;
    if (r.state != "done" && fs::is_directory(r.path, ec)) cause = ledger_summary(RunPaths{r.path});
    s << "{\"path\": " << json_string(r.path) << ", \"state\": " << json_string(r.state)
      << ", \"detail\": " << json_string(r.detail) << ", \"cause\": " << json_string(cause)
      << ", \"run_id\": " << json_string(r.record.run_id)
      << ", \"nonfinite\": " << json_string(r.state == "done" ? results::nonfinite_description(r.record) : "") << "}\n";
  }
  return s.str();
}

// argv, no shell; stdout and stderr are this process's. Returns the exit status.
int spawn_and_wait(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc != 0) throw Error("aimrun report --html: cannot start " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw Error("aimrun report --html: waitpid: " + std::string(std::strerror(errno)));
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

bool executable(const std::string& p) { return !p.empty() && ::access(p.c_str(), X_OK) == 0; }

struct TempDir {
  std::string path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "aimrun-html-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw Error("aimrun report --html: cannot make a temporary folder: " + std::string(std::strerror(errno)));
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

std::string find_report_script() {
  std::vector<std::string> tried;
  if (const char* v = std::getenv("AIMRUN_SCRIPTS"); v && *v) tried.push_back(std::string(v) + "/report_html.py");
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) tried.push_back((exe.parent_path().parent_path() / "share/aimrun/report_html.py").string());
  tried.push_back(AIM_SOURCE_DIR "/scripts/report_html.py");
  for (const auto& p : tried)
    if (fs::is_regular_file(p, ec)) return p;
  throw Error("aimrun report --html: the page generator report_html.py is in none of " + join(tried, ", ") +
              " (set AIMRUN_SCRIPTS to the folder holding it)");
}

std::string find_python() {
  if (const char* v = std::getenv("AIMRUN_PYTHON"); v && *v) {
    if (executable(v)) return v;
    throw ConfigError(std::string("AIMRUN_PYTHON=") + v + ": not an executable file");
  }
  if (executable("/usr/bin/python3")) return "/usr/bin/python3";
  const char* path = std::getenv("PATH");
  for (const auto& dir : split(path ? path : "", ':'))
    if (!dir.empty() && executable(dir + "/python3")) return dir + "/python3";
  throw Error("aimrun report --html: needs python3 with matplotlib, pandas and h5py (Debian: apt-get install "
              "python3-matplotlib python3-pandas python3-h5py), and found none (set AIMRUN_PYTHON)");
}

bool write_html_report(const std::string& dir, const std::vector<results::FoundRun>& runs,
                       results::ReportOptions options, const std::string& out_html) {
  auto script = find_report_script();
  auto python = find_python();
  options.format = "csv";
  std::ostringstream table;
  bool complete = results::write_report(runs, options, table, std::cerr);
  TempDir tmp;
  write_text_atomic(tmp.path + "/table.csv", table.str());
  write_text_atomic(tmp.path + "/runs.jsonl", runs_jsonl(runs));
  int rc = spawn_and_wait({python, script, dir, "--table", tmp.path + "/table.csv", "--runs",
                           tmp.path + "/runs.jsonl", "--out", out_html});
  if (rc == 2) throw ConfigError("aimrun report --html: " + script + " could not make the page (see above)");
  if (rc != 0)
    throw Error("aimrun report --html: " + python + " " + script + " failed with exit code " + std::to_string(rc));
  std::cout << "wrote " << out_html << "\n";
  return complete;
}

}  // namespace aim::cli
