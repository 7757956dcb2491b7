// Flip tests (issue 36, item 8): seeded single-bit flips and truncations over every region of
// each file aimrun reads back (result.h5, summary.json, checkpoint.pt, the session ledger,
// the built-in dataset's cache, a packed image cache). Each one is either found and named by
// the reader, or harmless: everything the reader returns equals what the good file gives.
// None may be read as other numbers. Every mutation is one case of the fault tally.
// The run folder's files come from one trained run (stopped at a step and resumed, so its
// ledger holds two sessions), trained once per build of aimrun and shared by these tests.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "core/error.h"
#include "core/file_digest.h"
#include "core/file_lock.h"
#include "core/h5.h"
#include "core/h5_content.h"
#include "core/hash.h"
#include "data/builtin/fashion_places.h"
#include "data/images/packed_cache.h"
#include "fault_log.h"
#include "flips.h"
#include "log_capture.h"
#include "results/found_runs.h"
#include "results/run_file.h"
#include "results/run_folder.h"
#include "results/run_summary.h"
#include "runner/checkpoint.h"
#include "runner/session_ledger.h"
#include "runner/trained_run.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

using test::contains;  // tests/test_util.h

// The shared trained run: $AIMRUN_CACHE/flip-fixture-<aimrun's size and mtime>/run, trained
// under a lock by the first test that needs it.
std::string fixture_run() {
  static const std::string run = [] {
    const fs::path bin = test::aimrun();
    const std::string stamp =
        std::to_string(fs::file_size(bin)) + "-" + std::to_string(fs::last_write_time(bin).time_since_epoch().count());
    const std::string root = std::string(std::getenv("AIMRUN_CACHE")) + "/flip-fixture-" + hex_digest(fnv1a64(stamp));
    fs::create_directories(root);
    FileLock lock;
    EXPECT_TRUE(lock.lock_within(root + "/.lock", 900, "the flip tests' run"));
    if (!fs::exists(root + "/complete")) {
      fs::remove_all(root + "/out");
      std::ofstream(root + "/c.yaml") << "output_dir: " << root << "/out\n"
                                      << "dataset: {train_size: 48, val_size: 64, test_size: 96}\n"
                                         "model: {width: 8}\nmethod: {name: aim}\n"
                                         "train: {epochs: 2, batch_size: 16, log_every: 0}\n"
                                         "eval: {attributions: [gradcam, mask], keep_maps: 2, pictures: 0}\n";
      const std::string train =
          " OMP_NUM_THREADS=1 timeout 300 " + test::aimrun() + " train " + root + "/c.yaml threads=1";
      auto stopped = test::run_command("AIMRUN_FAULT=rank=0,step=2,kind=stop" + train);
      EXPECT_EQ(stopped.exit_code, 75) << stopped.output;
      auto done = test::run_command("AIMRUN_FAULT=" + train);
      EXPECT_EQ(done.exit_code, 0) << done.output;
      if (done.exit_code == 0) std::ofstream(root + "/complete") << "\n";
    }
    std::string run_dir;  // <output_dir>/runs/<run id>: a summary is bound to its folder's name
    for (const auto& e : fs::directory_iterator(root + "/out/runs")) run_dir = e.path().string();
    return run_dir;
  }();
  return run;
}

// A copy of the trained run's folder in `dir`: the files a reader of a run folder reads.
// A copy of the fixture run in `dir`: in runs/<run id>, or in a folder of another name
// (`train --run-dir`).
RunPaths copy_run(const test::TempDir& dir, const std::string& name = "") {
  RunPaths from{fixture_run()};
  RunPaths to{dir.file("runs/" + (name.empty() ? fs::path(from.dir).filename().string() : name))};
  fs::create_directories(to.dir);
  for (const auto& file : {&RunPaths::config, &RunPaths::result, &RunPaths::summary, &RunPaths::checkpoint,
                           &RunPaths::ledger, &RunPaths::progress})
    fs::copy_file((from.*file)(), (to.*file)(), fs::copy_options::overwrite_existing);
  return to;
}

// What the report, `sweep status` and `train` read of a run folder: its state, and at the
// report's depth every scalar (as its summary would hold them).
struct Seen {
  std::string state, detail, summary_problem, scalars;
};
Seen seen_by_report(const RunPaths& p) {
  // What `aimrun report <folder>` calls (ResultDepth::Summary), on the folder holding the run.
  auto runs = results::find_runs(fs::path(p.dir).parent_path().string());
  EXPECT_EQ(runs.size(), 1u);
  if (runs.empty()) return {};
  auto r = runs.front();
  // Splits in one order: a summary lists them as it wrote them, result.h5 by name.
  std::sort(r.record.splits.begin(), r.record.splits.end(),
            [](const auto& a, const auto& b) { return a.split < b.split; });
  return {r.state, r.detail, r.summary_problem, r.state == "done" ? results::summary_text(r.record, {}) : ""};
}

struct Tally {
  int named = 0, harmless = 0;
  ~Tally() { std::cout << "[ flips    ] " << named << " found and named, " << harmless << " harmless\n"; }
};

}  // namespace

// result.h5 flipped or cut after the run finished: its summary binds it (size, mtime, CRC-32)
// so the run is unreadable, naming result.h5, for the report and for `sweep status`/`train`
// (ResultDepth::State); never done with other numbers.
void result_flips_are_named_or_harmless(const RunPaths& p, size_t flips, size_t cuts, unsigned seed) {
  const Seen good = seen_by_report(p);
  ASSERT_EQ(good.state, "done") << good.detail;
  const std::string bytes = read_bytes(p.result());
  Tally tally;
  for (const auto& m : test::mutations(bytes.size(), flips, cuts, seed)) {
    test::FaultCase fc("result.h5 of a finished run in " + fs::path(p.dir).filename().string() + ", " + m.describe());
    write_bytes(p.result(), m.apply(bytes));
    const Seen s = seen_by_report(p);
    const auto state = inspect_run_folder(p, ResultDepth::State);
    if (s.state == "done") {
      EXPECT_EQ(s.scalars, good.scalars) << m.describe();
      EXPECT_EQ(state.state, RunState::Done) << m.describe();
      ++tally.harmless;
    } else {
      EXPECT_EQ(s.state, "unreadable") << m.describe();
      EXPECT_TRUE(contains(s.detail, "result.h5")) << m.describe() << ": " << s.detail;
      EXPECT_EQ(state.state, RunState::Unreadable) << m.describe();
      ++tally.named;
    }
  }
}

TEST(Flips, ResultH5IsUnreadableNamedOrReadAsTheOriginal) {
  test::TempDir dir;
  result_flips_are_named_or_harmless(copy_run(dir), 200, 60, 3601);
}

// The same in a folder not named by its run id (`train --run-dir my-run`): its summary binds
// result.h5 there too. Before, such a summary was taken for another run's, result.h5 was read
// whole unchecked, and 11 of 278 mutations read as done with other numbers.
TEST(Flips, ResultH5InAFolderNotNamedByItsRunIdIsCheckedAlike) {
  test::TempDir dir;
  result_flips_are_named_or_harmless(copy_run(dir, "my-run"), 100, 30, 3607);
}

// result.h5 read without its summary.json (missing or damaged, `aimrun summarize`, a folder
// copied without it): its own content_crc32 (a CRC-32 over every attribute and dataset value,
// docs/hdf5-schema.md "The content check") names every mutation that changes what is read.
// Before it, 11 of 278 such mutations read as done with other numbers (an accuracy bit, a
// group count, a per-sample label).
TEST(Flips, ResultH5WithoutItsSummaryIsNamedByItsOwnContentCheck) {
  test::TempDir dir;
  const RunPaths p = copy_run(dir);
  fs::remove(p.summary());
  result_flips_are_named_or_harmless(p, 200, 60, 3608);
}

namespace {

// `bytes` with every occurrence of `value`'s 8 bytes doubled or halved (the exponent's lowest
// bit flipped): the attribute, and any other value that happens to be equal.
std::string with_double_flipped(const std::string& bytes, double value) {
  std::string needle(sizeof value, '\0');
  std::memcpy(needle.data(), &value, sizeof value);
  std::string out = bytes;
  size_t found = 0;
  for (size_t at = out.find(needle); at != std::string::npos; at = out.find(needle, at + 1), ++found)
    out[at + 6] = char(uint8_t(out[at + 6]) ^ 0x10);
  EXPECT_GT(found, 0u);
  return out;
}

}  // namespace

// Issue 36, find 1: one flipped bit in the test accuracy attribute was read as another
// accuracy (24.75 for 49.5), exit 0. Without a summary it is now named by the content check,
// in the run folder and in a collection of it; `sweep status` and `train` call the run
// unreadable, and the message names the command that writes it anew.
TEST(Flips, AFlippedAccuracyBitIsNamedWithoutASummaryAndInACollection) {
  test::TempDir dir;
  const RunPaths p = copy_run(dir);
  fs::remove(p.summary());
  const auto good = results::read_run_file(p.result());
  const auto& test_split =
      *std::find_if(good.splits.begin(), good.splits.end(), [](const auto& s) { return s.split == "test"; });
  const std::string bytes = read_bytes(p.result());
  const std::string flipped = with_double_flipped(bytes, test_split.accuracy);
  // A collection of the good run first, then the flip in both.
  auto collect = test::run_command(test::aimrun() + " collect " + dir.file("runs") + " " + dir.file("all.h5"));
  ASSERT_EQ(collect.exit_code, 0) << collect.output;
  write_bytes(p.result(), flipped);
  const auto state = inspect_run_folder(p, ResultDepth::State);
  EXPECT_EQ(state.state, RunState::Unreadable);
  EXPECT_TRUE(contains(state.detail, p.result() + ": content check failed (content_crc32 is ")) << state.detail;
  EXPECT_TRUE(contains(state.detail, "`aimrun train " + p.config() + " --run-dir " + p.dir + "` writes it anew"))
      << state.detail;
  const std::string coll = read_bytes(dir.file("all.h5"));
  write_bytes(dir.file("all.h5"), with_double_flipped(coll, test_split.accuracy));
  fs::remove_all(p.dir);
  auto report = test::run_command(test::aimrun() + " report " + dir.file("all.h5"));
  EXPECT_EQ(report.exit_code, 3) << report.output;
  EXPECT_TRUE(contains(report.output, "content check failed")) << report.output;
}

// A result file written before content checksums (no content_crc32) is read, with a warning
// naming it; its accuracy is then checked against correct/n and its groups against its samples.
TEST(ContentCheck, AFileWrittenBeforeChecksumsIsReadWithAWarningAndItsCountsChecked) {
  test::TempDir dir;
  const RunPaths p = copy_run(dir, "old-run");
  fs::remove(p.summary());
  const auto good = results::read_run_file(p.result());
  {
    auto f = h5::open_file(p.result(), true);
    f.removeAttr("content_crc32");
  }
  test::LogCapture log;
  const auto old = results::read_run_file(p.result());
  EXPECT_TRUE(contains(log.text(), p.result() + ": written before checksums (no content_crc32)")) << log.text();
  EXPECT_EQ(results::summary_text(old, {}), results::summary_text(good, {}));
  {
    auto f = h5::open_file(p.result(), true);
    auto g = f.openGroup("eval/test");
    h5::set_attr(g, "accuracy", h5::attr_double(g, "accuracy") / 2);
  }
  try {
    results::read_run_file(p.result());
    ADD_FAILURE() << "an accuracy that is not correct/n was read";
  } catch (const DataError& e) {
    EXPECT_TRUE(contains(e.what(), p.result() + ":/eval/test: accuracy ")) << e.what();
    EXPECT_TRUE(contains(e.what(), " is not correct/n = ")) << e.what();
  }
}

// The digest covers every attribute and dataset value, and nothing of HDF5's layout: a file
// rewritten with other chunking or compression has the same digest; any changed value,
// attribute name or shape changes it.
TEST(ContentCheck, TheDigestFollowsTheValuesNotTheLayout) {
  test::TempDir dir;
  const RunPaths p = copy_run(dir);
  auto digest = [](const std::string& path) {
    auto f = h5::open_file(path);
    return h5::content_crc32(f.openGroup("/"));
  };
  const uint32_t good = digest(p.result());
  {
    auto f = h5::open_file(p.result());
    EXPECT_EQ(h5::attr_string(f, "content_crc32"), hex32(good));
  }
  auto changed = [&](const std::function<void(H5::H5File&)>& change) {
    fs::copy_file(p.result(), dir.file("x.h5"), fs::copy_options::overwrite_existing);
    {
      auto f = h5::open_file(dir.file("x.h5"), true);
      change(f);
    }
    return digest(dir.file("x.h5"));
  };
  // The same values in another layout: a dataset written again uncompressed, unchunked.
  EXPECT_EQ(changed([](H5::H5File& f) {
              auto g = f.openGroup("eval/test/samples");
              auto v = h5::read<int64_t>(g, "label");
              h5::write_raw(g, "label", h5::Dtype::i64, v.data(), h5::Dtype::i64, {v.size()}, false);
            }),
            good);
  EXPECT_NE(changed([](H5::H5File& f) {
              auto g = f.openGroup("eval/test/samples");
              auto v = h5::read<int64_t>(g, "label");
              v[0] ^= 1;
              h5::write(g, "label", v);
            }),
            good);
  EXPECT_NE(changed([](H5::H5File& f) {
              auto g = f.openGroup("eval/test");
              h5::set_attr(g, "loss", std::nextafter(h5::attr_double(g, "loss"), 10.0));
            }),
            good);
  EXPECT_NE(changed([](H5::H5File& f) { h5::set_attr(f, "host", "elsewhere"); }), good);
  EXPECT_NE(changed([](H5::H5File& f) {
              auto g = f.openGroup("config");
              h5::set_attr(g, "an.extra.key", int64_t(1));
            }),
            good);
  EXPECT_EQ(changed([](H5::H5File& f) { h5::set_attr(f, "content_crc32", "00000000"); }), good);
}

// summary.json flipped or cut: never used; the run is read from result.h5 (the same numbers)
// and the summary named as the reason, or the run is unreadable naming both files.
TEST(Flips, SummaryIsNamedAndResultH5ReadInsteadOrReadAsTheOriginal) {
  test::TempDir dir;
  const RunPaths p = copy_run(dir);
  const Seen good = seen_by_report(p);
  ASSERT_EQ(good.state, "done") << good.detail;
  ASSERT_EQ(good.summary_problem, "");
  const std::string bytes = read_bytes(p.summary());
  Tally tally;
  for (const auto& m : test::mutations(bytes.size(), 160, 50, 3602)) {
    test::FaultCase fc("summary.json of a finished run, " + m.describe());
    write_bytes(p.summary(), m.apply(bytes));
    const Seen s = seen_by_report(p);
    if (s.state == "done") {
      EXPECT_EQ(s.scalars, good.scalars) << m.describe();
      (s.summary_problem.empty() ? tally.harmless : tally.named)++;
      if (!s.summary_problem.empty()) {
        EXPECT_TRUE(contains(s.summary_problem, p.summary())) << s.summary_problem;
      }
    } else {
      EXPECT_EQ(s.state, "unreadable") << m.describe();
      EXPECT_TRUE(contains(s.detail, "summary.json")) << m.describe() << ": " << s.detail;
      ++tally.named;
    }
    EXPECT_NE(inspect_run_folder(p, ResultDepth::State).state, RunState::Pending) << m.describe();
  }
}

// checkpoint.pt flipped or cut: resuming or predicting from it is refused naming the file and
// what failed (its CRC-32, its length or its header), or it reads the same state and weights.
TEST(Flips, CheckpointIsRefusedNamedOrReadAsTheOriginal) {
  test::TempDir dir;
  const RunPaths p = copy_run(dir);
  const TrainState good = read_checkpoint_state(p.checkpoint(), fs::path(p.dir).filename().string());
  const std::string bytes = read_bytes(p.checkpoint());
  Tally tally;
  for (const auto& m : test::mutations(bytes.size(), 200, 60, 3603)) {
    test::FaultCase fc("checkpoint.pt, " + m.describe());
    write_bytes(p.checkpoint(), m.apply(bytes));
    try {
      const TrainState s = read_checkpoint_state(p.checkpoint(), fs::path(p.dir).filename().string());
      EXPECT_EQ(s.epoch, good.epoch) << m.describe();
      EXPECT_EQ(s.global_step, good.global_step) << m.describe();
      EXPECT_EQ(s.class_names, good.class_names) << m.describe();
      EXPECT_EQ(s.train_seconds, good.train_seconds) << m.describe();
      auto weights = load_trained_run(p.dir).model->parameters();
      write_bytes(p.checkpoint(), bytes);
      auto original = load_trained_run(p.dir).model->parameters();
      ASSERT_EQ(weights.size(), original.size());
      for (size_t i = 0; i < weights.size(); ++i) EXPECT_TRUE(torch::equal(weights[i], original[i])) << m.describe();
      ++tally.harmless;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_TRUE(contains(msg, p.checkpoint())) << msg;
      EXPECT_TRUE(contains(msg, "checksum mismatch") || contains(msg, "truncated checkpoint") ||
                  contains(msg, "corrupt checkpoint header"))
          << m.describe() << ": " << msg;
      ++tally.named;
    }
  }
}

namespace {

bool same_entry(const SessionEntry& a, const SessionEntry& b) {
  return a.event == b.event && a.time == b.time && a.hosts == b.hosts && a.slurm_job == b.slurm_job && a.by == b.by &&
         a.exit_code == b.exit_code && a.cause == b.cause && a.epoch == b.epoch && a.step == b.step &&
         a.lost_s == b.lost_s;
}

}  // namespace

// The session ledger flipped or cut: each line carries its CRC-32; a damaged line is named
// (<ledger>:<line>) and not read, the others are read as they were. Nothing read differs
// from a line of the good ledger, in order.
TEST(Flips, LedgerLinesAreNamedAndLeftOutOrReadAsTheOriginal) {
  test::TempDir dir;
  const RunPaths p = copy_run(dir);
  std::vector<std::string> damaged;
  const auto good = read_ledger(p, &damaged);
  ASSERT_TRUE(damaged.empty());
  ASSERT_EQ(good.size(), 4u) << read_bytes(p.ledger());  // start, end (stopped), start, end
  const std::string bytes = read_bytes(p.ledger());
  Tally tally;
  for (const auto& m : test::mutations(bytes.size(), 300, 100, 3604)) {
    test::FaultCase fc("the session ledger, " + m.describe());
    write_bytes(p.ledger(), m.apply(bytes));
    damaged.clear();
    const auto read = read_ledger(p, &damaged);
    size_t next = 0;  // what is read is the good ledger with lines left out
    for (const auto& e : read) {
      while (next < good.size() && !same_entry(e, good[next])) ++next;
      EXPECT_LT(next, good.size()) << m.describe() << ": a record read differs from every good one:\n"
                                   << read_bytes(p.ledger());
      ++next;
    }
    const size_t lines_cut = m.truncate ? size_t(std::count(bytes.begin() + long(m.offset), bytes.end(), '\n')) : 0;
    if (read.size() + lines_cut < good.size()) {
      EXPECT_FALSE(damaged.empty()) << m.describe() << ": a line lost unnamed";
    }
    for (const auto& d : damaged) EXPECT_TRUE(contains(d, p.ledger() + ":")) << d;
    (damaged.empty() ? tally.harmless : tally.named)++;
  }
}

namespace {

data::FashionPlacesOptions tiny_fashion_places() {
  data::FashionPlacesOptions o;
  o.train_size = 300;
  o.val_size = 60;
  o.test_size = 120;
  o.seed = 36;
  return o;
}

bool same_data(const data::FashionPlaces& a, const data::FashionPlaces& b) {
  if (a.class_names != b.class_names || a.place_names != b.place_names || a.splits.size() != b.splits.size())
    return false;
  for (const auto& [name, s] : a.splits) {
    auto it = b.splits.find(name);
    if (it == b.splits.end()) return false;
    const auto& t = it->second;
    for (auto tensor : {&data::PackedSplit::images, &data::PackedSplit::regions, &data::PackedSplit::boxes,
                        &data::PackedSplit::labels, &data::PackedSplit::places, &data::PackedSplit::groups,
                        &data::PackedSplit::source_index})
      if (!(s.*tensor).sizes().equals((t.*tensor).sizes()) || !torch::equal(s.*tensor, t.*tensor)) return false;
  }
  return true;
}

std::string only_file(const std::string& dir, const std::string& extension) {
  std::string found;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().extension() == extension) found = e.path().string();
  return found;
}

}  // namespace

// The built-in dataset's cache flipped or cut: its digest (CRC-32 of every byte and its key,
// at its end) is checked before HDF5 reads it; a damaged cache is named and generated again
// in its place (the same images), never read.
TEST(Flips, BuiltinDatasetCacheIsNamedAndGeneratedAgainOrReadAsTheOriginal) {
  test::TempDir dir;
  const auto o = tiny_fashion_places();
  bool from_cache = true;
  const auto good = data::load_or_generate_fashion_places(o, dir.file("cache"), &from_cache);
  ASSERT_FALSE(from_cache);
  const std::string path = only_file(dir.file("cache"), ".h5");
  std::string key;
  {
    auto file = h5::open_file(path);
    key = h5::attr_string(file, "cache_key");
  }
  const std::string bytes = read_bytes(path);
  Tally tally;
  const auto cases = test::mutations(bytes.size(), 250, 80, 3605);
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& m = cases[i];
    test::FaultCase fc("the built-in dataset's cache, " + m.describe());
    write_bytes(path, m.apply(bytes));
    try {
      EXPECT_TRUE(same_data(data::load_fashion_places(path, key), good)) << m.describe();
      ++tally.harmless;
    } catch (const DataError& e) {
      EXPECT_TRUE(contains(e.what(), path + ": damaged dataset cache: ")) << e.what();
      ++tally.named;
    }
    if (i % 40 == 0) {  // the way a run reads it: named in a warning, generated again in its place
      write_bytes(path, m.apply(bytes));
      test::LogCapture log;
      EXPECT_TRUE(same_data(data::load_or_generate_fashion_places(o, dir.file("cache"), &from_cache), good));
      if (!from_cache) {
        EXPECT_TRUE(contains(log.text(), path + ": damaged dataset cache: ")) << log.text();
      }
      EXPECT_TRUE(same_data(data::load_or_generate_fashion_places(o, dir.file("cache"), &from_cache), good));
      EXPECT_TRUE(from_cache) << "generated again in its place";
    }
  }
}

// A packed image cache (data/images/packed_cache.h) flipped or cut: its digest is checked at
// every open; a damaged pack is named in a warning and packed again, never read.
TEST(Flips, PackedImageCacheIsNamedAndPackedAgainOrReadAsTheOriginal) {
  test::TempDir dir;
  std::vector<data::Sample> samples;
  for (int i = 0; i < 6; ++i) {
    cv::Mat img(20 + i, 24, CV_8UC3);
    cv::randu(img, 0, 255);
    data::Sample s;
    s.path = dir.file("img" + std::to_string(i) + ".png");
    ASSERT_TRUE(cv::imwrite(s.path, img));
    s.boxes = {{2, 3, 8, 9}};
    samples.push_back(s);
  }
  data::PackOptions options;
  options.with_region = true;
  options.threads = 1;
  const std::string path = data::packed_cache_path(dir.file("cache"), "flips", "train", samples, options);
  std::vector<cv::Mat> good;
  {
    auto c = data::PackedCache::open_or_build(path, samples, options);
    for (size_t i = 0; i < c.size(); ++i) good.push_back(c.image(i).clone()), good.push_back(c.region(i).clone());
  }
  const std::string bytes = read_bytes(path);
  Tally tally;
  for (const auto& m : test::mutations(bytes.size(), 250, 80, 3606)) {
    test::FaultCase fc("a packed image cache, " + m.describe());
    write_bytes(path, m.apply(bytes));
    test::LogCapture log;
    auto c = data::PackedCache::open_or_build(path, samples, options);
    ASSERT_EQ(c.size() * 2, good.size());
    for (size_t i = 0; i < c.size(); ++i) {
      EXPECT_EQ(cv::norm(c.image(i), good[2 * i], cv::NORM_INF), 0) << m.describe();
      EXPECT_EQ(cv::norm(c.region(i), good[2 * i + 1], cv::NORM_INF), 0) << m.describe();
    }
    const bool named = contains(log.text(), path + ": damaged packed cache: ");
    (named ? tally.named : tally.harmless)++;
    EXPECT_TRUE(named || read_bytes(path) == m.apply(bytes)) << m.describe() << ": packed again without a word";
  }
}

// Issue 36: a ledger line with one changed digit used to be read as another exit code or
// cause without a word. Each line now carries its CRC-32; a damaged one is named by file and
// line and not read. A ledger an older aimrun began (no checksums) is read as before up to
// its first line with a checksum; after that a line without one is damaged.
TEST(LedgerLines, ADamagedLineIsNamedByFileAndLineAndNeverMisread) {
  test::TempDir dir;
  const RunPaths p{dir.path()};
  const std::string old_start = "{\"event\": \"start\", \"time\": 100, \"hosts\": \"n1\", \"slurm\": \"\", \"pid\": 7}";
  const std::string old_end = "{\"event\": \"end\", \"time\": 160, \"by\": \"aimrun\", \"exit_code\": 75}";
  write_bytes(p.ledger(), old_start + "\n" + old_end + "\n");
  SessionEntry start;
  start.event = "start", start.time = 200, start.hosts = "n2";
  append_session(p, start);
  SessionEntry end;
  end.event = "end", end.time = 260, end.by = "aimrun", end.exit_code = 137, end.cause = "killed";
  append_session(p, end);
  std::vector<std::string> damaged;
  auto entries = read_ledger(p, &damaged);
  EXPECT_TRUE(damaged.empty());
  ASSERT_EQ(entries.size(), 4u) << read_bytes(p.ledger());
  EXPECT_EQ(entries[1].exit_code, 75);   // an older aimrun's line, read unchecked
  EXPECT_EQ(entries[3].exit_code, 137);  // checked
  const std::string text = read_bytes(p.ledger());
  EXPECT_TRUE(contains(text, "\"exit_code\": 137, ")) << text;
  EXPECT_TRUE(contains(text, "\"crc32\": \"")) << text;

  // The exit code of line 4 changed from 137 to 127 (one bit): named, not read as 127.
  std::string edited = text;
  edited.replace(edited.find("\"exit_code\": 137"), 16, "\"exit_code\": 127");
  write_bytes(p.ledger(), edited);
  test::LogCapture log;
  entries = read_ledger(p, &damaged);
  ASSERT_EQ(damaged.size(), 1u);
  EXPECT_EQ(damaged[0], p.ledger() + ":4: checksum mismatch");
  EXPECT_TRUE(contains(log.text(), p.ledger() + ":4: damaged session record (checksum mismatch), not read"))
      << log.text();
  ASSERT_EQ(entries.size(), 3u);
  for (const auto& e : entries) EXPECT_NE(e.exit_code, 127);
  // `sweep status` and the report's problems say so.
  EXPECT_TRUE(
      contains(ledger_summary(p), "1 damaged ledger line(s) left out (" + p.ledger() + ":4: checksum mismatch)"))
      << ledger_summary(p);

  // After a checked line, a line without a checksum (an older writer's, or one whose
  // checksum was cut off) is damaged; a line cut short by a full disk too.
  write_bytes(p.ledger(), text + old_end + "\n{\"event\": \"end\", \"time\": 17\n");
  damaged.clear();
  entries = read_ledger(p, &damaged);
  ASSERT_EQ(damaged.size(), 2u);
  EXPECT_EQ(damaged[0], p.ledger() + ":5: no checksum");
  EXPECT_EQ(damaged[1], p.ledger() + ":6: no checksum");
  EXPECT_EQ(entries.size(), 4u);
}

// Issue 36, find 2: flipped bytes in the built-in dataset's cache were read as the images
// and labels of the next run (its id unchanged). Now the cache is named in a warning and
// generated again in its place, with the images of the original; a cache without a digest
// (an older aimrun's) is generated again the same way.
TEST(BuiltinCache, FlippedBytesAreNamedAndTheCacheGeneratedAgain) {
  test::TempDir dir;
  const auto o = tiny_fashion_places();
  bool from_cache = true;
  const auto good = data::load_or_generate_fashion_places(o, dir.file("cache"), &from_cache);
  const std::string path = only_file(dir.file("cache"), ".h5");
  const std::string bytes = read_bytes(path);
  const auto read_again = [&](const std::string& changed, const std::string& expected) {
    write_bytes(path, changed);
    test::LogCapture log;
    EXPECT_TRUE(same_data(data::load_or_generate_fashion_places(o, dir.file("cache"), &from_cache), good));
    EXPECT_FALSE(from_cache) << expected;
    EXPECT_TRUE(contains(log.text(), path + ": damaged dataset cache: " + expected)) << log.text();
    EXPECT_TRUE(contains(log.text(), "generating it again in its place")) << log.text();
    EXPECT_TRUE(data::load_or_generate_fashion_places(o, dir.file("cache"), &from_cache).splits.size() > 0);
    EXPECT_TRUE(from_cache);
  };
  std::string flipped = bytes;
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 40; ++i) flipped[i] = char(flipped[i] ^ 0x5a);
  read_again(flipped, "content CRC-32 ");
  read_again(bytes.substr(0, bytes.size() - kFileDigestBytes), "no content digest");
  read_again(bytes.substr(0, bytes.size() / 3), "no content digest");
}
