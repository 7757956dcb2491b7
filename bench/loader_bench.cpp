// The image loader's throughput against OpenCV decoding the same files alone.
//
//   build/bench/loader_bench [--dir FOLDER_OF_JPEGS] [--count 500] [--workers 2] [--threads 2]
//
// Without --dir, `count` JPEGs of 500x375 (CUB's typical size; smooth shapes plus noise, so
// they compress like photographs) are written to a temporary folder first. Measured, in
// images per second over the whole folder (each after one untimed warm-up pass, so the
// files are in the page cache for all of them):
//   (a) cv::imread + resize of the shorter side to 256, on 1 thread and on --threads threads:
//       the decoding cost alone, the reference;
//   (b) the loader's training batches (RandomResizedCrop 224, flip, normalise, float
//       tensors) through BatchLoader with --workers threads;
//   (c) the same from the packed cache (built once first; its build time is reported).
// Ratios: (b) / (a, threads) tells how much the loader adds to decoding; (c) / (b) what the
// packed cache saves.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "core/log.h"
#include "core/random.h"
#include "data/images/image_list_dataset.h"
#include "data/loader.h"
#include "data/sampler.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace aim;
using namespace aim::data;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void write_images(const std::string& dir, int count) {
  fs::create_directories(dir);
  for (int i = 0; i < count; ++i) {
    Rng rng{uint64_t(i)};
    cv::Mat img(375, 500, CV_8UC3);
    cv::randn(img, cv::Scalar(110, 120, 100), cv::Scalar(25, 25, 25));
    for (int k = 0; k < 12; ++k)
      cv::circle(img, cv::Point(int(rng.below(500)), int(rng.below(375))), 10 + int(rng.below(80)),
                 cv::Scalar(double(rng.below(256)), double(rng.below(256)), double(rng.below(256))), -1);
    cv::GaussianBlur(img, img, cv::Size(5, 5), 1.5);
    cv::imwrite(dir + "/img_" + std::to_string(i) + ".jpg", img);
  }
}

double opencv_decode(const std::vector<std::string>& files, int threads) {
  auto run = [&] {
    std::atomic<size_t> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        for (size_t i; (i = next++) < files.size();) {
          cv::Mat m = cv::imread(files[i], cv::IMREAD_COLOR), out;
          const double f = 256.0 / std::min(m.rows, m.cols);
          cv::resize(m, out, cv::Size(int(m.cols * f + 0.5), int(m.rows * f + 0.5)), 0, 0, cv::INTER_AREA);
        }
      });
    for (auto& t : pool) t.join();
  };
  run();  // warm-up
  auto t0 = Clock::now();
  run();
  return double(files.size()) / seconds_since(t0);
}

double loader_epoch(const std::shared_ptr<const Dataset>& ds, int workers, int batch) {
  auto run = [&](uint64_t seed) {
    BatchIndices batches;
    for (int64_t s = 0; s < ds->size(); s += batch) {
      std::vector<int64_t> b;
      for (int64_t i = s; i < std::min<int64_t>(ds->size(), s + batch); ++i) b.push_back(i);
      batches.push_back(b);
    }
    BatchLoader loader(ds, batches, seed, workers, 4);
    int64_t n = 0;
    while (auto b = loader.next()) n += b->size();
    return n;
  };
  run(1);
  auto t0 = Clock::now();
  const int64_t n = run(2);
  return double(n) / seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"image loader throughput vs OpenCV decoding"};
  std::string dir;
  int count = 500, workers = 2, threads = 2, batch = 32;
  app.add_option("--dir", dir, "folder of JPEG files (default: generate --count of them)");
  app.add_option("--count", count, "images to generate without --dir");
  app.add_option("--workers", workers, "loader worker threads");
  app.add_option("--threads", threads, "threads of the parallel OpenCV reference");
  app.add_option("--batch", batch, "batch size");
  CLI11_PARSE(app, argc, argv);
  init_logging(0, "warn");
  torch::set_num_threads(1);  // batches are built on the loader's threads, as in training
  std::string tmp;
  if (dir.empty()) {
    tmp = (fs::temp_directory_path() / ("aim-loader-bench-" + std::to_string(getpid()))).string();
    write_images(tmp, count);
    dir = tmp;
  }
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    auto ext = e.path().extension().string();
    if (ext == ".jpg" || ext == ".JPEG" || ext == ".jpeg") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "no JPEG files in %s\n", dir.c_str());
    return 1;
  }
  std::printf("%zu images from %s; %u hardware threads\n", files.size(), dir.c_str(), std::thread::hardware_concurrency());

  const double cv1 = opencv_decode(files, 1), cvn = opencv_decode(files, threads);
  std::printf("(a) OpenCV imread+resize, 1 thread:          %8.1f images/s\n", cv1);
  std::printf("(a) OpenCV imread+resize, %d threads:         %8.1f images/s\n", threads, cvn);

  std::vector<Sample> samples;
  for (size_t i = 0; i < files.size(); ++i) samples.push_back(Sample{files[i], int64_t(i % 10), -1, "", 0, {}, 0, 0});
  SplitInfo info;
  info.dataset = "bench";
  info.split = "train";
  info.class_names.assign(10, "c");
  ImageListOptions o;
  o.augment = true;
  o.cache_dir = (tmp.empty() ? (fs::temp_directory_path() / "aim-loader-bench-cache").string() : tmp + "/cache");
  auto direct = std::make_shared<ImageListDataset>(info, samples, o);
  const double ld = loader_epoch(direct, workers, batch);
  std::printf("(b) loader, train transforms, %d workers:     %8.1f images/s\n", workers, ld);

  o.packed_cache = true;
  o.threads = threads;
  auto t0 = Clock::now();
  auto packed = std::make_shared<ImageListDataset>(info, samples, o);
  const double build = seconds_since(t0);
  const double lp = loader_epoch(packed, workers, batch);
  std::printf("(c) loader from packed cache, %d workers:     %8.1f images/s  (cache built in %.1f s)\n", workers, lp, build);
  std::printf("ratios: loader / OpenCV (%d threads) = %.2f; packed / loader = %.2f\n", threads, ld / cvn, lp / ld);
  if (!tmp.empty()) fs::remove_all(tmp);
  return 0;
}
