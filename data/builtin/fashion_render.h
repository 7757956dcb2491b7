#pragma once
// The renderer the built-in dataset's tasks share (data/builtin/fashion_places.cpp); the
// class maps, files and garment indices are data/builtin/fashion_pools.h's.
// Internal to data/builtin/.
#include <cstdint>
#include <string>
#include <vector>

#include "data/builtin/fashion_places.h"
#include "data/builtin/fashion_pools.h"

namespace aim::data::fashion {

// Renders every sample of one split in parallel; sample i depends only on (split_seed, i):
// its background first (place family first_family + places[i]), then the garment.
// groups = label * num_places + place. `recolour`: each background's RGB channels are then
// put in one of their six orders, drawn from its own stream (the pretraining task's `varied`
// places), so a background redrawn from (split_seed, i) alone matches up to that order.
PackedSplit render_split(const FashionPlacesOptions& o, uint64_t split_seed, const Source& src,
                         const std::vector<int64_t>& source_index, const std::vector<int64_t>& labels,
                         const std::vector<int64_t>& places, int64_t num_places, int first_family = 0,
                         bool recolour = false);

}  // namespace aim::data::fashion
