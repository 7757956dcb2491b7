#pragma once
// The keys and layouts of the image datasets (cub, waterbirds, traveling_birds,
// hard_imagenet, imagenet100, imagewoof), without libtorch (data/dataset_info.h); their
// readers are data/readers/*.cpp.
#include <string>
#include <vector>

#include "core/config.h"
#include "data/dataset_info.h"

namespace aim::data::readers {

// Keys every image dataset reads (dataset.root, image_size, resize, packed_cache, ...):
// each image dataset's add_keys calls it.
void add_image_dataset_keys(Schema& schema);
// Keys some of them read.
KeySpec cub_root_key();       // waterbirds, traveling_birds
KeySpec segmentations_key();  // cub, waterbirds, traveling_birds
// dataset.val_fraction and dataset.seed: the datasets of layout_with_held_out_val (cub,
// traveling_birds).
void add_held_out_val_keys(Schema& schema);

// The layout of an image dataset: `splits` (sizes unknown until the files are read),
// `eval` evaluated by default; checks that dataset.root is set.
DatasetLayout image_layout(const Config& cfg, const std::vector<std::string>& splits, std::vector<std::string> eval);
// cub and traveling_birds: train, test, and val when dataset.val_fraction > 0.
DatasetLayout layout_with_held_out_val(const Config& cfg);

// dataset.root, required for image datasets.
std::string root_of(const Config& cfg);
}  // namespace aim::data::readers
