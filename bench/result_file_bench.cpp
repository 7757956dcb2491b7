// What result.h5's content check costs (issue 36): for a given result file, the median time
// to write it (write_run_file: built in memory, digest, saved, read back, renamed), to read it
// (read_run_file: every value, the content check included) and to compute its digest alone;
// printed in ms and as the digest's share of each (docs/performance.md, "Result files").
//   result_file_bench RESULT.h5 [--repeats N]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <vector>

#include "core/h5.h"
#include "core/h5_content.h"
#include "results/run_file.h"

namespace {

double median_ms(int repeats, const std::function<void()>& work) {
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    work();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"result.h5: write, read and content-check times"};
  std::string path;
  int repeats = 21;
  app.add_option("result", path, "a result.h5")->required()->check(CLI::ExistingFile);
  app.add_option("--repeats", repeats, "timed repeats (median)");
  CLI11_PARSE(app, argc, argv);
  const auto record = aim::results::read_run_file(path);
  const std::string out = std::filesystem::temp_directory_path() / "aim-result-bench.h5";
  const double write = median_ms(repeats, [&] { aim::results::write_run_file(out, record); });
  const double read = median_ms(repeats, [&] { aim::results::read_run_file(out); });
  uint32_t digest = 0;
  const double check = median_ms(repeats, [&] {
    auto f = aim::h5::open_file(out);
    digest = aim::h5::content_crc32(f.openGroup("/"));
  });
  std::printf("file %s: %ju bytes, content_crc32 %08x\n", path.c_str(), uintmax_t(std::filesystem::file_size(out)),
              digest);
  std::printf("write %.2f ms, read %.2f ms, content check alone %.2f ms (%.0f%% of a read, %.0f%% of a write)\n", write,
              read, check, 100 * check / read, 100 * check / write);
  std::filesystem::remove(out);
  return 0;
}
