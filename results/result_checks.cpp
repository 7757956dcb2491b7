#include "results/result_checks.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <mutex>
#include <set>

#include "core/error.h"
#include "core/h5_content.h"
#include "core/isolate.h"
#include "core/strings.h"

namespace aim::results {

namespace {

constexpr size_t kNamedUnchecked = 5;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Doubles compared as the evaluation computed them: bit for bit, NaN equal to NaN.
bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

std::string damaged(const std::string& where, const std::string& what, const std::string& path) {
  return where + ": " + what + ": damaged result file; " + repair_hint(path);
}

// The first few files without a content check are named, one warning each (a child process
// of run_isolated leaves it to its caller, which reads the file again).
void warn_unchecked(const std::string& path) {
  static std::mutex mutex;
  static std::set<std::string> named;
  std::lock_guard<std::mutex> lock(mutex);
  if (named.size() > kNamedUnchecked || !named.insert(path).second) return;
  if (named.size() <= kNamedUnchecked)
    spdlog::warn(
        "{}: written before checksums (no content_crc32): read without its content check, its "
        "accuracies checked against their counts instead",
        path);
  else
    spdlog::warn("more result files written before checksums are read unchecked, not named");
}

}  // namespace

std::string repair_hint(const std::string& path) {
  if (ends_with(path, "/result.h5") || path == "result.h5") {
    const std::string dir = std::filesystem::path(path).parent_path().string();
    const std::string d = dir.empty() ? "." : dir;
    return "`aimrun train " + d + "/config.yaml --run-dir " + d + "` writes it anew";
  }
  return "collect it again from its run folders (`aimrun collect`), or train the run again";
}

bool check_result_content(const H5::Group& root, const std::string& path) {
  bool recorded = false;
  const std::string problem = h5::check_content_crc32(root, &recorded);
  if (!problem.empty())
    throw DataError(path + ": content check failed (" + problem + "): damaged result file; " + repair_hint(path));
  if (!recorded && !in_isolated_child()) warn_unchecked(path);
  return recorded;
}

void check_derived_scalars(const SplitResult& s, const std::string& path) {
  const std::string where = path + ":/eval/" + s.split;
  int64_t correct = 0;
  for (size_t i = 0; i < s.label.size() && i < s.pred.size(); ++i) correct += s.label[i] == s.pred[i];
  if (correct != s.correct)
    throw DataError(damaged(where,
                            "correct is " + std::to_string(s.correct) + ", its samples have " +
                                std::to_string(correct) + " correct predictions",
                            path));
  const double accuracy = s.n ? double(s.correct) / double(s.n) : NAN;
  if (!same(accuracy, s.accuracy))
    throw DataError(damaged(where,
                            "accuracy " + format_double(s.accuracy) +
                                " is not correct/n = " + std::to_string(s.correct) + "/" + std::to_string(s.n),
                            path));
  const size_t groups = s.group_names.size();
  std::vector<int64_t> count(groups, 0), right(groups, 0);
  for (size_t i = 0; i < s.group.size() && i < s.label.size() && i < s.pred.size(); ++i) {
    if (s.group[i] < 0 || size_t(s.group[i]) >= groups) continue;
    count[size_t(s.group[i])]++;
    right[size_t(s.group[i])] += s.label[i] == s.pred[i];
  }
  double worst = NAN;
  for (size_t g = 0; g < groups; ++g) {
    if (count[g] != s.group_count[g] || right[g] != s.group_correct[g])
      throw DataError(damaged(where,
                              "group " + s.group_names[g] + " has " + std::to_string(s.group_correct[g]) + "/" +
                                  std::to_string(s.group_count[g]) + ", its samples " + std::to_string(right[g]) + "/" +
                                  std::to_string(count[g]),
                              path));
    if (!count[g]) continue;
    const double acc = double(right[g]) / double(count[g]);
    if (std::isnan(worst) || acc < worst) worst = acc;
  }
  if (!same(worst, s.worst_group_accuracy))
    throw DataError(damaged(where,
                            "worst_group_accuracy " + format_double(s.worst_group_accuracy) +
                                " is not its groups' lowest accuracy " + format_double(worst),
                            path));
}

}  // namespace aim::results
