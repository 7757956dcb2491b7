#pragma once
// Keys that several datasets read. Every entry that reads one declares it with these (its
// add_keys calls them), so that each key applies to exactly the datasets that declared it
// (the schema merges the declarations: runner/registry_keys.h).
#include "core/config.h"

namespace aim::data {

KeySpec train_size_key();   // the generated datasets: builtin, synthetic
KeySpec val_size_key();     // builtin, synthetic
KeySpec seed_key();         // builtin, synthetic; cub, traveling_birds (their held-out val)
KeySpec image_size_key();   // synthetic and the image datasets
KeySpec correlation_key();  // builtin, waterbirds

}  // namespace aim::data
