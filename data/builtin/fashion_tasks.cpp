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

int64_t quota(int64_t total, int64_t c) { return total / 10 + (c < total % 10 ? 1 : 0); }

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

FamilyRange pretrain_families(const FashionPlacesOptions& o) {
  if (o.pretrain_places == "reserved") return {kPretrainFirstFamily, kPretrainFamilies};
  if (o.pretrain_places != "unused" && o.pretrain_places != "varied")
    throw ConfigError("dataset.pretrain_places: expected reserved, unused or varied, got " + o.pretrain_places);
  // The fine-tuning task uses families 0 .. classes-1; the ood families follow the pretraining ones.
  const int first = int(class_map(o.classes).names.size());
  return {first, kOodFirstFamily - first};
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
