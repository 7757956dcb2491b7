#pragma once
// The built-in dataset's options and what its splits can hold, without libtorch: the
// layout (data/builtin/builtin_info.cpp) checks a config against the label files alone, in
// aimrun too (docs/architecture.md, "Two executables"). data/builtin/fashion_places.h makes
// the images.
#include <cstdint>
#include <string>
#include <vector>

namespace aim::data {

struct FashionPlacesOptions {
  std::string source_dir = "/usr/share/datasets/fashion-mnist";
  int64_t canvas = 64;
  std::string classes = "binary";  // "binary" (tops vs footwear) or "all" (10 classes)
  double correlation = 0.95;
  double scale_min = 0.4, scale_max = 0.65;                  // garment side / canvas side
  int64_t train_size = -1, val_size = 2000, test_size = -1;  // -1: all available
  uint64_t seed = 0;
  // dataset.task: "finetune" (the splits above) or "pretrain" (generate_pretrain_places).
  std::string task = "finetune";
  int64_t pretrain_size = 10000, pretrain_val_size = 1000;
  // dataset.pretrain_places: "reserved" (families 10-15), "unused" (every family that
  // neither the fine-tuning task of `classes` nor the ood split uses: 2-15 for binary) or
  // "varied" (unused, each background's colour channels permuted: render_split's recolour).
  std::string pretrain_places = "reserved";
  int64_t ood_size = 0;  // the fine-tuning task's `ood` split (generate_ood_places); 0: none
  // Text of every option that changes the generated data, plus the generator version: of
  // the fine-tuning task's train/val/test, of the pretraining task, of the ood split.
  std::string cache_key() const;
  std::string pretrain_cache_key() const;
  std::string ood_cache_key() const;
};

// Samples of the selected classes in Fashion-MNIST train (val and train are drawn from
// them) and test, read from the label files only.
struct FashionPlacesPools {
  int64_t train = 0, test = 0;
};
FashionPlacesPools fashion_places_pools(const std::string& source_dir, const std::string& classes);

// Garments of each Fashion-MNIST class left to the pretraining task (from the label file).
std::vector<int64_t> pretrain_garments_per_class(const FashionPlacesOptions& options);

}  // namespace aim::data
