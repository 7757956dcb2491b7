#pragma once
// The pieces the built-in dataset's tasks share, without libtorch: the class maps, the
// Fashion-MNIST files, which garments each task takes (data/builtin/fashion_pools.cpp).
// Internal to data/builtin/.
#include <cstdint>
#include <string>
#include <vector>

#include "data/builtin/fashion_options.h"
#include "data/idx_reader.h"

namespace aim::data::fashion {

extern const std::vector<std::string> kFashionNames;  // the ten Fashion-MNIST classes

struct ClassMap {
  std::vector<int> from_fashion;  // Fashion-MNIST label -> class, -1 = dropped
  std::vector<std::string> names;
};
ClassMap class_map(const std::string& classes);  // "binary" or "all"

struct Source {
  IdxArray images, labels;
};
Source read_source(const std::string& dir, const std::string& prefix);  // "train" or "t10k"

// Indices (into the Fashion-MNIST file) of the selected classes, shuffled by (seed, stream).
std::vector<int64_t> shuffled_pool(const Source& s, const ClassMap& cm, uint64_t seed, uint64_t stream);

// The training garments of the fine-tuning task (dataset.task: finetune) of options `o`:
// val is the first val_size of the shuffled train pool, train the next train_size (all the
// rest when -1). Reads the labels only.
struct FinetuneIndices {
  std::vector<int64_t> train, val;
};
FinetuneIndices finetune_indices(const FashionPlacesOptions& o, const ClassMap& cm, const Source& train_src);
// The test garments: the first `size` (all when -1) of the shuffled test pool; the test
// split and the ood split take them alike. `key` names the size in an error.
std::vector<int64_t> test_indices(const FashionPlacesOptions& o, const ClassMap& cm, const Source& test_src,
                                  int64_t size, const std::string& key);

std::vector<int64_t> labels_of(const Source& s, const ClassMap& cm, const std::vector<int64_t>& idx);
// Each class spread evenly over `num_places` places (group sizes differ by at most 1).
std::vector<int64_t> balanced_places(const std::vector<int64_t>& labels, int64_t num_classes, int64_t num_places,
                                     uint64_t seed, uint64_t stream);
void check_geometry(const FashionPlacesOptions& o);  // canvas and scale; ConfigError

// The label file of Fashion-MNIST `prefix` alone (images are not needed to choose garments).
Source read_labels(const std::string& dir, const std::string& prefix);
// Fashion-MNIST train indices the fine-tuning task of `o` leaves out, shuffled (stream 21).
std::vector<int64_t> pretrain_candidates(const FashionPlacesOptions& o, const Source& train_labels);

}  // namespace aim::data::fashion
