#include "data/builtin/fashion_pools.h"

#include <filesystem>
#include <map>
#include <mutex>

#include "core/error.h"
#include "core/hash.h"
#include "core/random.h"
#include "core/strings.h"

namespace fs = std::filesystem;

namespace aim::data {

namespace fashion_pools {

constexpr int kTasksVersion = 1;  // bump when the pretraining or ood generator's output changes

std::string geometry_key(const FashionPlacesOptions& o) {
  return " canvas=" + std::to_string(o.canvas) + " scale=" + format_double(o.scale_min) + "," +
         format_double(o.scale_max) + " seed=" + std::to_string(o.seed);
}

}  // namespace fashion_pools

namespace fashion {

const std::vector<std::string> kFashionNames = {"tshirt", "trouser", "pullover", "dress", "coat",
                                                "sandal", "shirt",   "sneaker",  "bag",   "boot"};

ClassMap class_map(const std::string& classes) {
  ClassMap m;
  if (classes == "all") {
    for (int i = 0; i < 10; ++i) m.from_fashion.push_back(i);
    m.names = kFashionNames;
  } else if (classes == "binary") {
    // Like landbird/waterbird: two super-classes of several garment types each.
    m.from_fashion = {0, -1, 0, -1, 0, 1, 0, 1, -1, 1};
    m.names = {"tops", "footwear"};
  } else {
    throw ConfigError("dataset.classes: expected 'all' or 'binary', got '" + classes + "'");
  }
  return m;
}

Source read_source(const std::string& dir, const std::string& prefix) {
  Source s;
  for (const std::string& suffix : {std::string(""), std::string(".gz")}) {
    auto img = dir + "/" + prefix + "-images-idx3-ubyte" + suffix;
    auto lab = dir + "/" + prefix + "-labels-idx1-ubyte" + suffix;
    if (fs::exists(img) && fs::exists(lab)) {
      s.images = read_idx(img);
      s.labels = read_idx(lab);
      if (s.images.dims.size() != 3 || s.images.dims[1] != 28 || s.images.dims[2] != 28)
        throw DataError(img + ": expected N x 28 x 28 images");
      if (s.labels.dims.size() != 1 || s.labels.dims[0] != s.images.dims[0])
        throw DataError(lab + ": label count does not match " + img);
      return s;
    }
  }
  throw DataError(dir + ": Fashion-MNIST files " + prefix +
                  "-{images-idx3,labels-idx1}-ubyte[.gz] not found (apt-get install "
                  "dataset-fashion-mnist, or set dataset.source)");
}

std::vector<int64_t> shuffled_pool(const Source& s, const ClassMap& cm, uint64_t seed, uint64_t stream) {
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < s.labels.dims[0]; ++i)
    if (cm.from_fashion[s.labels.data[i]] >= 0) idx.push_back(i);
  Rng rng(mix_seed(seed, stream));
  rng.shuffle(idx);
  return idx;
}

FinetuneIndices finetune_indices(const FashionPlacesOptions& o, const ClassMap& cm, const Source& train_src) {
  std::vector<int64_t> train_pool = shuffled_pool(train_src, cm, o.seed, 1);
  FinetuneIndices out;
  if (o.val_size < 0 || o.val_size >= int64_t(train_pool.size()))
    throw ConfigError("dataset.val_size: must be between 0 and " + std::to_string(train_pool.size() - 1));
  out.val.assign(train_pool.begin(), train_pool.begin() + o.val_size);
  out.train.assign(train_pool.begin() + o.val_size, train_pool.end());
  if (o.train_size > 0) {
    if (o.train_size > int64_t(out.train.size()))
      throw ConfigError("dataset.train_size: at most " + std::to_string(out.train.size()) +
                        " samples are available for these classes, asked for " + std::to_string(o.train_size));
    out.train.resize(o.train_size);
  }
  return out;
}

std::vector<int64_t> test_indices(const FashionPlacesOptions& o, const ClassMap& cm, const Source& test_src,
                                  int64_t size, const std::string& key) {
  std::vector<int64_t> pool = shuffled_pool(test_src, cm, o.seed, 2);
  if (size > 0) {
    if (size > int64_t(pool.size()))
      throw ConfigError(key + ": at most " + std::to_string(pool.size()) + " test samples are available, asked for " +
                        std::to_string(size));
    pool.resize(size);
  }
  return pool;
}

std::vector<int64_t> labels_of(const Source& s, const ClassMap& cm, const std::vector<int64_t>& idx) {
  std::vector<int64_t> l;
  for (auto i : idx) l.push_back(cm.from_fashion[s.labels.data[i]]);
  return l;
}

std::vector<int64_t> balanced_places(const std::vector<int64_t>& labels, int64_t num_classes, int64_t num_places,
                                     uint64_t seed, uint64_t stream) {
  Rng rng(mix_seed(seed, stream));
  std::vector<int64_t> next(num_classes);
  for (auto& v : next) v = int64_t(rng.below(uint64_t(num_places)));
  std::vector<int64_t> places;
  for (auto l : labels) places.push_back(next[l]++ % num_places);
  return places;
}

void check_geometry(const FashionPlacesOptions& o) {
  if (o.canvas < 16) throw ConfigError("dataset.canvas: expected at least 16, got " + std::to_string(o.canvas));
  if (!(o.scale_min > 0 && o.scale_min <= o.scale_max && o.scale_max < 1.0))
    throw ConfigError("dataset.scale: expected 0 < min <= max < 1 (the garment must not fill the canvas)");
}

Source read_labels(const std::string& dir, const std::string& prefix) {
  for (const std::string& suffix : {std::string(""), std::string(".gz")}) {
    auto lab = dir + "/" + prefix + "-labels-idx1-ubyte" + suffix;
    if (!fs::exists(dir + "/" + prefix + "-images-idx3-ubyte" + suffix) || !fs::exists(lab)) continue;
    Source s;
    s.labels = read_idx(lab);
    return s;
  }
  throw DataError(dir + ": Fashion-MNIST files " + prefix +
                  "-{images-idx3,labels-idx1}-ubyte[.gz] not found (apt-get install dataset-fashion-mnist, or set "
                  "dataset.source)");
}

std::vector<int64_t> pretrain_candidates(const FashionPlacesOptions& o, const Source& train_labels) {
  const auto used = finetune_indices(o, class_map(o.classes), train_labels);
  std::vector<char> taken(train_labels.labels.data.size(), 0);
  for (const auto* part : {&used.train, &used.val})
    for (auto i : *part) taken[size_t(i)] = 1;
  std::vector<int64_t> out;
  for (size_t i = 0; i < taken.size(); ++i)
    if (!taken[i]) out.push_back(int64_t(i));
  Rng rng(mix_seed(o.seed, 21));
  rng.shuffle(out);
  return out;
}

}  // namespace fashion

namespace fashion_pools {

using namespace fashion;

// Samples of the selected classes in one Fashion-MNIST file, from its labels alone.
int64_t pool_size(const std::string& dir, const std::string& prefix, const ClassMap& cm) {
  for (const std::string& suffix : {std::string(""), std::string(".gz")}) {
    auto lab = dir + "/" + prefix + "-labels-idx1-ubyte" + suffix;
    if (!fs::exists(dir + "/" + prefix + "-images-idx3-ubyte" + suffix) || !fs::exists(lab)) continue;
    auto labels = read_idx(lab);
    int64_t n = 0;
    for (auto l : labels.data) n += l < cm.from_fashion.size() && cm.from_fashion[l] >= 0;
    return n;
  }
  throw DataError(dir + ": Fashion-MNIST files " + prefix +
                  "-{images-idx3,labels-idx1}-ubyte[.gz] not found (apt-get install "
                  "dataset-fashion-mnist, or set dataset.source)");
}

}  // namespace fashion_pools

using namespace fashion;

FashionPlacesPools fashion_places_pools(const std::string& source_dir, const std::string& classes) {
  // A sweep asks once per run: read the label files once per process.
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::string>, FashionPlacesPools> known;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = known.find({source_dir, classes});
  if (it != known.end()) return it->second;
  const ClassMap cm = class_map(classes);
  FashionPlacesPools pools{fashion_pools::pool_size(source_dir, "train", cm),
                           fashion_pools::pool_size(source_dir, "t10k", cm)};
  known[{source_dir, classes}] = pools;
  return pools;
}

std::string FashionPlacesOptions::pretrain_cache_key() const {
  return "fashion-places-pretrain v" + std::to_string(fashion_pools::kTasksVersion) +
         fashion_pools::geometry_key(*this) + " finetune=" + classes + "," + std::to_string(train_size) + "," +
         std::to_string(val_size) + " sizes=" + std::to_string(pretrain_size) + "," +
         std::to_string(pretrain_val_size) + (pretrain_places == "reserved" ? "" : " places=" + pretrain_places);
}

std::string FashionPlacesOptions::ood_cache_key() const {
  return "fashion-places-ood v" + std::to_string(fashion_pools::kTasksVersion) + fashion_pools::geometry_key(*this) +
         " classes=" + classes + " size=" + std::to_string(ood_size);
}

std::vector<int64_t> pretrain_garments_per_class(const FashionPlacesOptions& o) {
  static std::mutex mutex;
  static std::map<std::string, std::vector<int64_t>> known;  // a sweep asks once per run
  const std::string key = o.source_dir + "|" + o.pretrain_cache_key();
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = known.find(key); it != known.end()) return it->second;
  const Source labels = read_labels(o.source_dir, "train");
  std::vector<int64_t> counts(10, 0);
  for (auto i : pretrain_candidates(o, labels)) ++counts[labels.labels.data[size_t(i)]];
  return known[key] = counts;
}

}  // namespace aim::data
