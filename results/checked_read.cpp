#include "results/checked_read.h"

#include "core/h5.h"
#include "core/isolate.h"
#include "results/collection.h"
#include "results/run_file.h"

namespace aim::results {

namespace {

// What a child process found in a .h5 file: "done", "collection", or "<state>\n<why>".
std::string classify_h5(const std::string& path, bool run_folder) {
  if (!run_folder && is_collection(path)) {
    runs_in_collection(path);  // every run read, as the caller will
    left_out_of_collection(path);
    return "collection";
  }
  try {
    read_run_file(path);
    return "done";
  } catch (const std::exception& e) {
    // Foreign: an HDF5 file of somebody else's; one that does not even open is damaged.
    bool foreign = false;
    try {
      auto file = h5::open_file(path);
      foreign = !run_folder && !h5::has_attr(file, "schema_version");
    } catch (...) {
    }
    return std::string(foreign ? "foreign" : "unreadable") + "\n" + e.what();
  }
}

}  // namespace

std::vector<FoundRun> read_h5_checked(const std::string& path, bool run_folder) {
  auto checked = run_isolated([&] { return classify_h5(path, run_folder); });
  if (!checked.ok) {  // a crash or a limit: the child's reason, naming the file
    const bool named = checked.output.find(path) != std::string::npos;
    return {{path, "unreadable", named ? checked.output : path + ": " + checked.output, {}}};
  }
  if (checked.output == "collection") {
    try {
      auto runs = runs_in_collection(path);
      for (auto& f : left_out_of_collection(path)) runs.push_back(std::move(f));  // named, never dropped
      return runs;
    } catch (const std::exception& e) {
      return {{path, "unreadable", e.what(), {}}};
    }
  }
  FoundRun f;
  f.path = path;
  if (checked.output == "done") {
    try {  // the same reading the child survived
      f.record = read_run_file(path);
      f.state = "done";
    } catch (const std::exception& e) {
      f.state = "unreadable";
      f.detail = e.what();
    }
  } else {
    auto nl = checked.output.find('\n');
    f.state = checked.output.substr(0, nl);
    f.detail = nl == std::string::npos ? "" : checked.output.substr(nl + 1);
  }
  return {f};
}

}  // namespace aim::results
