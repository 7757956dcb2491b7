#pragma once
// The built-in spurious-correlation benchmark: Fashion-MNIST garments composited at a
// random scale and position onto procedural backgrounds, one background family ("place")
// per class, built like Waterbirds. In train a sample gets its class's place with
// probability `correlation`; val and test are balanced over every (class, place) group, so
// worst-group accuracy measures how much a model relies on the background. Ground truth
// for localisation comes from the garment's own pixels (segmentation and box).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/builtin/fashion_options.h"

namespace aim::data {

struct PackedSplit {
  at::Tensor images;        // [N,3,H,W] uint8 RGB
  at::Tensor regions;       // [N,H,W] uint8, 1 on garment pixels
  at::Tensor boxes;         // [N,4] int32 x0,y0,x1,y1 (x1,y1 exclusive) of the region
  at::Tensor labels;        // [N] int64 class
  at::Tensor places;        // [N] int64 background family index (into place_names)
  at::Tensor groups;        // [N] int64 label * num_places + place
  at::Tensor source_index;  // [N] int64 index into the Fashion-MNIST file
};

struct FashionPlaces {
  std::vector<std::string> class_names;
  std::vector<std::string> place_names;
  std::map<std::string, PackedSplit> splits;  // "train", "val", "test" (a task), or "ood"
  std::vector<std::string> group_names() const;  // "tops@meadow", ...
};

// The fine-tuning task: splits train, val, test; places 0 .. classes-1 (place_names).
FashionPlaces generate_fashion_places(const FashionPlacesOptions& options);
// The pretraining task (data/builtin/fashion_tasks.cpp, docs/datasets-builtin.md): all ten
// Fashion-MNIST classes, balanced, on the place families of pretrain_families() (10-15 by
// default) drawn independently of the class;
// garments from Fashion-MNIST train that the fine-tuning task of the same options (classes,
// train_size, val_size, seed) does not use. Splits train (pretrain_size) and val
// (pretrain_val_size); `places` index those families (place_names).
FashionPlaces generate_pretrain_places(const FashionPlacesOptions& options);
// The fine-tuning task's `ood` split: the first ood_size test garments (those the test split
// starts with) on place families 16-17, balanced over (class, place).
FashionPlaces generate_ood_places(const FashionPlacesOptions& options);
// The pretraining task's place families of `options`: first family and count (contiguous).
struct FamilyRange {
  int first = 0, count = 0;
};
FamilyRange pretrain_families(const FashionPlacesOptions& options);
// Sample i of a split is drawn from Rng(mix_seed(split_seed, i)), its background first
// (draw_place), so tests can redraw a sample's background on its own.
uint64_t fashion_places_split_seed(uint64_t seed, const std::string& split);
void save_fashion_places(const FashionPlaces& data, const std::string& path,
                         const std::string& cache_key);
// The cache file ends with a content digest (core/file_digest.h) of its bytes and key;
// load_fashion_places checks it before reading and throws DataError naming the file and
// what failed ("content CRC-32 ... differs", "truncated", "another cache key").
FashionPlaces load_fashion_places(const std::string& path, const std::string& expected_key);
// Loads `<cache_dir>/fashion-places-<hash>.h5` or generates and writes it (under a lock,
// so concurrent ranks or jobs generate it once). A damaged cache (or one without a digest)
// is named in a warning and generated again in its place, never read. `cache_dir` "" disables the cache. A
// process that waits `cache_wait_seconds` for another one generating it (stopped or
// frozen?) generates its own copy and leaves the cache to that process.
// `part`: which generator (its own cache key and file): the fine-tuning task, the
// pretraining task or the ood split.
enum class FashionPart { Finetune, Pretrain, Ood };
FashionPlaces load_or_generate_fashion_places(const FashionPlacesOptions& options, const std::string& cache_dir,
                                              bool* from_cache = nullptr, FashionPart part = FashionPart::Finetune,
                                              double cache_wait_seconds = 600);

}  // namespace aim::data
