// The built-in dataset's pretraining task and its `ood` split (docs/datasets-builtin.md):
// the analogues of ImageNet pretraining and of TravelingBirds' shifted backgrounds.
#include <torch/torch.h>

#include <filesystem>
#include <mutex>

#include "core/error.h"
#include "core/hash.h"
#include "core/random.h"
#include "core/strings.h"
#include "data/builtin/fashion_places.h"
#include "data/builtin/fashion_render.h"
#include "data/builtin/places.h"

namespace fs = std::filesystem;

namespace aim::data {

using namespace fashion;

namespace {

constexpr int kTasksVersion = 1;  // bump when the pretraining or ood generator's output changes

std::string geometry_key(const FashionPlacesOptions& o) {
  return " canvas=" + std::to_string(o.canvas) + " scale=" + format_double(o.scale_min) + "," +
         format_double(o.scale_max) + " seed=" + std::to_string(o.seed);
}

// The label file of Fashion-MNIST `prefix` alone (images are not needed to choose garments).
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

int64_t quota(int64_t total, int64_t c) { return total / 10 + (c < total % 10 ? 1 : 0); }

// Fashion-MNIST train indices the fine-tuning task of `o` leaves out, shuffled (stream 21).
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

struct PretrainIndices {
  std::vector<int64_t> train, val;
};

// In the candidates' shuffled order: each class's first quota(pretrain_val_size) go to val,
// its next quota(pretrain_size) to train (both balanced over the ten classes).
PretrainIndices pretrain_indices(const FashionPlacesOptions& o, const Source& train_labels) {
  PretrainIndices out;
  std::vector<int64_t> val_n(10, 0), train_n(10, 0);
  for (auto i : pretrain_candidates(o, train_labels)) {
    const int64_t c = train_labels.labels.data[size_t(i)];
    if (val_n[c] < quota(o.pretrain_val_size, c)) {
      ++val_n[c];
      out.val.push_back(i);
    } else if (train_n[c] < quota(o.pretrain_size, c)) {
      ++train_n[c];
      out.train.push_back(i);
    }
  }
  for (int64_t c = 0; c < 10; ++c)
    if (val_n[c] < quota(o.pretrain_val_size, c) || train_n[c] < quota(o.pretrain_size, c))
      throw ConfigError("dataset.pretrain_size: class " + kFashionNames[c] + " has " +
                        std::to_string(val_n[c] + train_n[c]) + " garments the fine-tuning task leaves out, " +
                        std::to_string(quota(o.pretrain_val_size, c) + quota(o.pretrain_size, c)) + " needed");
  return out;
}

std::vector<std::string> family_names(int first, int count) {
  std::vector<std::string> out;
  for (int f = first; f < first + count; ++f) out.push_back(place_name(f));
  return out;
}

}  // namespace

std::string FashionPlacesOptions::pretrain_cache_key() const {
  return "fashion-places-pretrain v" + std::to_string(kTasksVersion) + geometry_key(*this) + " finetune=" + classes +
         "," + std::to_string(train_size) + "," + std::to_string(val_size) + " sizes=" + std::to_string(pretrain_size) +
         "," + std::to_string(pretrain_val_size) + (pretrain_places == "reserved" ? "" : " places=" + pretrain_places);
}

FamilyRange pretrain_families(const FashionPlacesOptions& o) {
  if (o.pretrain_places == "reserved") return {kPretrainFirstFamily, kPretrainFamilies};
  if (o.pretrain_places != "unused" && o.pretrain_places != "varied")
    throw ConfigError("dataset.pretrain_places: expected reserved, unused or varied, got " + o.pretrain_places);
  // The fine-tuning task uses families 0 .. classes-1; the ood families follow the pretraining ones.
  const int first = int(class_map(o.classes).names.size());
  return {first, kOodFirstFamily - first};
}

std::string FashionPlacesOptions::ood_cache_key() const {
  return "fashion-places-ood v" + std::to_string(kTasksVersion) + geometry_key(*this) + " classes=" + classes +
         " size=" + std::to_string(ood_size);
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

FashionPlaces generate_pretrain_places(const FashionPlacesOptions& o) {
  check_geometry(o);
  const Source src = read_source(o.source_dir, "train");
  const PretrainIndices idx = pretrain_indices(o, src);
  const ClassMap all = class_map("all");
  FashionPlaces out;
  out.class_names = all.names;
  const FamilyRange fam = pretrain_families(o);
  const bool recolour = o.pretrain_places == "varied";
  out.place_names = family_names(fam.first, fam.count);
  const auto train_labels = labels_of(src, all, idx.train), val_labels = labels_of(src, all, idx.val);
  // Train: a uniformly drawn family, whatever the class (no background predicts the class).
  Rng rng(mix_seed(o.seed, 31));
  std::vector<int64_t> train_places;
  for (size_t i = 0; i < idx.train.size(); ++i) train_places.push_back(int64_t(rng.below(uint64_t(fam.count))));
  out.splits["train"] = render_split(o, fashion_places_split_seed(o.seed, "pretrain/train"), src, idx.train,
                                     train_labels, train_places, fam.count, fam.first, recolour);
  out.splits["val"] =
      render_split(o, fashion_places_split_seed(o.seed, "pretrain/val"), src, idx.val, val_labels,
                   balanced_places(val_labels, 10, fam.count, o.seed, 32), fam.count, fam.first, recolour);
  return out;
}

FashionPlaces generate_ood_places(const FashionPlacesOptions& o) {
  check_geometry(o);
  const ClassMap cm = class_map(o.classes);
  const Source src = read_source(o.source_dir, "t10k");
  const auto idx = test_indices(o, cm, src, o.ood_size, "dataset.ood_size");
  const auto labels = labels_of(src, cm, idx);
  FashionPlaces out;
  out.class_names = cm.names;
  out.place_names = family_names(kOodFirstFamily, kOodFamilies);
  out.splits["ood"] = render_split(o, fashion_places_split_seed(o.seed, "ood"), src, idx, labels,
                                   balanced_places(labels, int64_t(cm.names.size()), kOodFamilies, o.seed, 14),
                                   kOodFamilies, kOodFirstFamily);
  return out;
}

}  // namespace aim::data
