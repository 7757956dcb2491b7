#include "data/builtin/fashion_places.h"

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <fstream>
#include <mutex>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/file_digest.h"
#include "core/file_lock.h"
#include "core/files.h"
#include "core/h5.h"
#include "core/hash.h"
#include "core/random.h"
#include "core/strings.h"
#include "data/builtin/fashion_render.h"
#include "data/builtin/places.h"
#include "data/idx_reader.h"

namespace fs = std::filesystem;

namespace aim::data {

namespace {

// Bump when the generator's output changes, so old caches are not reused.
constexpr int kGeneratorVersion = 1;

}  // namespace

using namespace fashion;

namespace fashion {

// Puts the channels of an RGB image in order `order` (0-5; 0 keeps them).
void permute_channels(cv::Mat& image, uint64_t order) {
  static const int kOrders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  const int* to = kOrders[order % 6];
  const int from_to[] = {to[0], 0, to[1], 1, to[2], 2};  // channel k of the result: channel to[k]
  cv::Mat out(image.size(), image.type());
  cv::mixChannels(&image, 1, &out, 1, from_to, 3);
  image = out;
}

PackedSplit render_split(const FashionPlacesOptions& o, uint64_t split_seed, const Source& src,
                         const std::vector<int64_t>& source_index, const std::vector<int64_t>& labels,
                         const std::vector<int64_t>& places, int64_t num_places, int first_family, bool recolour) {
  const int64_t n = int64_t(source_index.size()), c = o.canvas;
  PackedSplit out;
  out.images = torch::empty({n, 3, c, c}, torch::kUInt8);
  out.regions = torch::zeros({n, c, c}, torch::kUInt8);
  out.boxes = torch::empty({n, 4}, torch::kInt);
  auto* img_ptr = out.images.data_ptr<uint8_t>();
  auto* reg_ptr = out.regions.data_ptr<uint8_t>();
  auto* box_ptr = out.boxes.data_ptr<int32_t>();

  at::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
    cv::Mat canvas(static_cast<int>(c), static_cast<int>(c), CV_8UC3);
    for (int64_t i = begin; i < end; ++i) {
      Rng rng(mix_seed(split_seed, uint64_t(i)));
      draw_place(first_family + int(places[i]), rng, canvas);
      if (recolour) permute_channels(canvas, Rng(mix_seed(split_seed ^ 0x5EC0105ull, uint64_t(i))).below(6));

      const uint8_t* garment = &src.images.data[size_t(source_index[i]) * 28 * 28];
      cv::Mat g28(28, 28, CV_8U, const_cast<uint8_t*>(garment));
      int side = int(std::lround(double(c) * rng.uniform(o.scale_min, o.scale_max)));
      side = std::clamp(side, 4, int(c));
      cv::Mat g;
      cv::resize(g28, g, cv::Size(side, side), 0, 0, cv::INTER_LINEAR);
      int x0 = int(rng.below(uint64_t(c - side + 1))), y0 = int(rng.below(uint64_t(c - side + 1)));
      // The garment's colour is random and independent of class and place.
      float colour[3] = {float(rng.uniform(60, 255)), float(rng.uniform(60, 255)),
                         float(rng.uniform(60, 255))};

      uint8_t* region = reg_ptr + i * c * c;
      int bx0 = int(c), by0 = int(c), bx1 = 0, by1 = 0;
      for (int y = 0; y < side; ++y) {
        auto* row = canvas.ptr<cv::Vec3b>(y0 + y);
        for (int x = 0; x < side; ++x) {
          float v = g.at<uint8_t>(y, x) / 255.f;
          if (v <= 0.f) continue;
          float alpha = std::min(1.f, 3.f * v);
          float shade = 0.4f + 0.6f * v;
          auto& px = row[x0 + x];
          for (int k = 0; k < 3; ++k)
            px[k] = cv::saturate_cast<uint8_t>((1 - alpha) * px[k] + alpha * colour[k] * shade);
          if (alpha >= 0.5f) {
            region[(y0 + y) * c + (x0 + x)] = 1;
            bx0 = std::min(bx0, x0 + x);
            by0 = std::min(by0, y0 + y);
            bx1 = std::max(bx1, x0 + x + 1);
            by1 = std::max(by1, y0 + y + 1);
          }
        }
      }
      if (bx1 == 0) {  // an empty garment image: fall back to the pasted square
        bx0 = x0, by0 = y0, bx1 = x0 + side, by1 = y0 + side;
      }
      int32_t* box = box_ptr + i * 4;
      box[0] = bx0, box[1] = by0, box[2] = bx1, box[3] = by1;

      uint8_t* dst = img_ptr + i * 3 * c * c;  // HWC -> CHW
      for (int y = 0; y < c; ++y) {
        const auto* row = canvas.ptr<cv::Vec3b>(y);
        for (int x = 0; x < c; ++x)
          for (int k = 0; k < 3; ++k) dst[k * c * c + y * c + x] = row[x][k];
      }
    }
  });
  out.labels = torch::tensor(labels, torch::kLong);
  out.places = torch::tensor(places, torch::kLong);
  out.groups = out.labels * num_places + out.places;
  out.source_index = torch::tensor(source_index, torch::kLong);
  return out;
}

}  // namespace fashion

uint64_t fashion_places_split_seed(uint64_t seed, const std::string& split) {
  // "test" (and any other name, as before "ood" and the pretraining task's splits existed): 103.
  const uint64_t stream = split == "train" ? 101
                          : split == "val" ? 102
                          : split == "ood" ? 104
                          : split == "pretrain/train" ? 201
                          : split == "pretrain/val" ? 202
                                                    : 103;
  return mix_seed(seed, stream);
}

std::string FashionPlacesOptions::cache_key() const {
  return "fashion-places v" + std::to_string(kGeneratorVersion) + " canvas=" + std::to_string(canvas) +
         " classes=" + classes + " correlation=" + format_double(correlation) +
         " scale=" + format_double(scale_min) + "," + format_double(scale_max) +
         " sizes=" + std::to_string(train_size) + "," + std::to_string(val_size) + "," +
         std::to_string(test_size) + " seed=" + std::to_string(seed);
}

std::vector<std::string> FashionPlaces::group_names() const {
  std::vector<std::string> out;
  for (const auto& c : class_names)
    for (const auto& p : place_names) out.push_back(c + "@" + p);
  return out;
}

FashionPlaces generate_fashion_places(const FashionPlacesOptions& o) {
  check_geometry(o);
  const ClassMap cm = class_map(o.classes);
  const int64_t num_classes = int64_t(cm.names.size());
  const int64_t num_places = num_classes;  // one background family per class

  Source train_src = read_source(o.source_dir, "train");
  Source test_src = read_source(o.source_dir, "t10k");
  const FinetuneIndices idx = finetune_indices(o, cm, train_src);
  const std::vector<int64_t> test_idx = test_indices(o, cm, test_src, o.test_size, "dataset.test_size");

  FashionPlaces out;
  out.class_names = cm.names;
  for (int64_t p = 0; p < num_places; ++p) out.place_names.push_back(place_name(int(p)));

  // Train: the class's own place with probability p, otherwise a uniformly chosen other one.
  auto correlated_places = [&](const std::vector<int64_t>& labels, uint64_t stream) {
    Rng rng(mix_seed(o.seed, stream));
    std::vector<int64_t> places;
    for (auto l : labels) {
      if (num_places == 1 || rng.bernoulli(o.correlation)) {
        places.push_back(l);
      } else {
        int64_t other = int64_t(rng.below(uint64_t(num_places - 1)));
        places.push_back(other >= l ? other + 1 : other);
      }
    }
    return places;
  };
  // Val/test: every class spread evenly over every place (group sizes differ by at most 1).
  auto train_labels = labels_of(train_src, cm, idx.train);
  auto val_labels = labels_of(train_src, cm, idx.val);
  auto test_labels = labels_of(test_src, cm, test_idx);
  out.splits["train"] = render_split(o, fashion_places_split_seed(o.seed, "train"), train_src, idx.train, train_labels,
                                     correlated_places(train_labels, 11), num_places);
  out.splits["val"] = render_split(o, fashion_places_split_seed(o.seed, "val"), train_src, idx.val, val_labels,
                                   balanced_places(val_labels, num_classes, num_places, o.seed, 12), num_places);
  out.splits["test"] = render_split(o, fashion_places_split_seed(o.seed, "test"), test_src, test_idx, test_labels,
                                    balanced_places(test_labels, num_classes, num_places, o.seed, 13), num_places);
  return out;
}

void save_fashion_places(const FashionPlaces& data, const std::string& path,
                         const std::string& cache_key) {
  // Built in memory and written whole (h5::write_whole_file): a full disk leaves no cache
  // file that looks complete. Before the rename, the file's content digest (core/file_digest.h)
  // is appended, which load_fashion_places checks before HDF5 reads a byte.
  const auto append_digest = [&](const std::string& tmp) { append_file_digest(tmp, cache_key); };
  const auto fill = [&](H5::H5File& file) {
    h5::set_attr(file, "cache_key", cache_key);
    h5::write_strings(file, "class_names", data.class_names);
    h5::write_strings(file, "place_names", data.place_names);
    for (const auto& [name, s] : data.splits) {
      auto g = h5::ensure_group(file, name);
      auto n = hsize_t(s.labels.size(0)), c = hsize_t(s.images.size(2));
      // Images are noise-like textures: gzip costs time and saves little, so store raw.
      h5::write_raw(g, "images", h5::Dtype::u8, s.images.data_ptr(), h5::Dtype::u8, {n, 3, c, c}, false);
      h5::write_raw(g, "regions", h5::Dtype::u8, s.regions.data_ptr(), h5::Dtype::u8, {n, c, c});
      h5::write_raw(g, "boxes", h5::Dtype::i32, s.boxes.data_ptr(), h5::Dtype::i32, {n, 4});
      const std::vector<std::pair<std::string, at::Tensor>> ints = {
          {"labels", s.labels}, {"places", s.places}, {"groups", s.groups}, {"source_index", s.source_index}};
      for (const auto& [key, t] : ints) h5::write_raw(g, key, h5::Dtype::i64, t.data_ptr(), h5::Dtype::i64, {n});
    }
  };
  h5::write_whole_file(path, fill, append_digest);
}

FashionPlaces load_fashion_places(const std::string& path, const std::string& expected_key) {
  // Every byte checked against the digest recorded with it, and the key it was made for,
  // before HDF5 parses any (a damaged HDF5 file can crash the library).
  if (auto check = check_file_digest(path, expected_key); !check.ok)
    throw DataError(path + ": damaged dataset cache: " + check.problem);
  auto file = h5::open_file(path);
  std::string key = h5::attr_string(file, "cache_key");
  if (key != expected_key)
    throw DataError(path + ": cache was made for '" + key + "', expected '" + expected_key + "'");
  FashionPlaces out;
  out.class_names = h5::read_strings(file, "class_names");
  out.place_names = h5::read_strings(file, "place_names");
  // Every group is a split: train/val/test of a task, or ood.
  std::vector<std::string> names;
  for (hsize_t i = 0; i < file.getNumObjs(); ++i)
    if (file.getObjTypeByIdx(i) == H5G_GROUP) names.push_back(file.getObjnameByIdx(i));
  if (names.empty()) throw DataError(path + ": the cache holds no split");
  for (const auto& name : names) {
    auto g = file.openGroup(name);
    auto dims = h5::shape(g, "images");
    if (dims.size() != 4) throw DataError(h5::describe(g, "images") + ": expected 4 dimensions");
    int64_t n = int64_t(dims[0]), c = int64_t(dims[2]);
    PackedSplit s;
    s.images = torch::empty({n, 3, c, c}, torch::kUInt8);
    s.regions = torch::empty({n, c, c}, torch::kUInt8);
    s.boxes = torch::empty({n, 4}, torch::kInt);
    h5::read_raw(g, "images", h5::Dtype::u8, s.images.data_ptr(), dims);
    h5::read_raw(g, "regions", h5::Dtype::u8, s.regions.data_ptr(), {dims[0], dims[2], dims[3]});
    h5::read_raw(g, "boxes", h5::Dtype::i32, s.boxes.data_ptr(), {dims[0], 4});
    for (auto* t : {&s.labels, &s.places, &s.groups, &s.source_index}) *t = torch::empty({n}, torch::kLong);
    h5::read_raw(g, "labels", h5::Dtype::i64, s.labels.data_ptr(), {dims[0]});
    h5::read_raw(g, "places", h5::Dtype::i64, s.places.data_ptr(), {dims[0]});
    h5::read_raw(g, "groups", h5::Dtype::i64, s.groups.data_ptr(), {dims[0]});
    h5::read_raw(g, "source_index", h5::Dtype::i64, s.source_index.data_ptr(), {dims[0]});
    out.splits[name] = s;
  }
  return out;
}

namespace {

FashionPlaces generate_part(const FashionPlacesOptions& options, FashionPart part) {
  switch (part) {
    case FashionPart::Pretrain: return generate_pretrain_places(options);
    case FashionPart::Ood: return generate_ood_places(options);
    default: return generate_fashion_places(options);
  }
}

// The bytes of the Fashion-MNIST files the generator reads, hashed: dataset.source is a path
// and not part of the run identity, so the cache must tell two sources apart itself (another
// copy with other garments never reads this one's cache). Hashed once per file state and
// process (about 0.1 s for the 30 MB of Debian's files).
std::string source_fingerprint(const std::string& dir) {
  static std::mutex mutex;
  static std::map<std::string, std::string> known;
  std::string state, paths[4];
  int n = 0;
  for (const char* prefix : {"train", "t10k"})
    for (const char* kind : {"-images-idx3-ubyte", "-labels-idx1-ubyte"}) {
      std::string path = dir + "/" + prefix + std::string(kind);
      if (!fs::exists(path)) path += ".gz";
      std::error_code ec;
      const auto size = fs::file_size(path, ec);
      const auto time = fs::last_write_time(path, ec).time_since_epoch().count();
      state += path + ":" + std::to_string(ec ? 0 : size) + ":" + std::to_string(ec ? 0 : time) + ";";
      paths[n++] = path;
    }
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = known.find(state); it != known.end()) return it->second;
  uint64_t h = fnv1a64("");
  std::string chunk(1 << 20, '\0');
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    while (in.read(chunk.data(), std::streamsize(chunk.size())) || in.gcount() > 0)
      h = fnv1a64(chunk.substr(0, size_t(in.gcount())), h);
  }
  return known[state] = hex_digest(h);
}

// What a cache file was made from: the options' key and the source's bytes.
std::string key_of(const FashionPlacesOptions& options, FashionPart part) {
  std::string key = part == FashionPart::Pretrain ? options.pretrain_cache_key()
                    : part == FashionPart::Ood    ? options.ood_cache_key()
                                                  : options.cache_key();
  return key + " source=" + source_fingerprint(options.source_dir);
}

}  // namespace

FashionPlaces load_or_generate_fashion_places(const FashionPlacesOptions& options, const std::string& cache_dir,
                                              bool* from_cache, FashionPart part, double cache_wait_seconds) {
  const std::string key = key_of(options, part);
  if (from_cache) *from_cache = false;
  if (cache_dir.empty()) return generate_part(options, part);

  ensure_dir(cache_dir);
  std::string path = cache_dir + "/fashion-places-" + hex_digest(fnv1a64(key)) + ".h5";
  FileLock lock;  // one process generates, the others wait and read
  if (!lock.lock_within(path + ".lock", cache_wait_seconds, "the built-in dataset's cache " + path)) {
    spdlog::warn(
        "{}: another process has been generating it for {:.0f} s (dataset.cache_wait) without finishing; "
        "generating this run's own copy (not cached)",
        path, cache_wait_seconds);
    return generate_part(options, part);
  }
  if (fs::exists(path)) {
    try {
      auto data = load_fashion_places(path, key);
      if (from_cache) *from_cache = true;
      spdlog::debug("built-in dataset read from cache {}", path);
      return data;
    } catch (const Error& e) {
      spdlog::warn("not using the dataset cache ({}); generating it again in its place", e.what());
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  auto data = generate_part(options, part);
  double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The cache only saves the next run the generation: a run whose cache cannot be written
  // (a full disk, a read-only cache_dir) trains on the data it generated.
  try {
    save_fashion_places(data, path, key);
    spdlog::info("built-in dataset generated in {:.1f}s, cached at {}", gen_s, path);
  } catch (const Error& e) {
    spdlog::warn("built-in dataset generated in {:.1f}s but not cached ({}); the next run generates it again", gen_s,
                 e.what());
  }
  return data;
}

}  // namespace aim::data
