#include "data/dataset_keys.h"

namespace aim::data {

KeySpec train_size_key() {
  return KeySpec("dataset.train_size", ValueType::Int, "~",
                 "builtin, synthetic: training samples (~: all that remain after val)")
      .range(1.0, std::nullopt);
}

KeySpec val_size_key() {
  return KeySpec("dataset.val_size", ValueType::Int, "2000",
                 "builtin, synthetic: validation samples, taken from Fashion-MNIST train (fewer than it holds)")
      .range(0.0, std::nullopt);
}

KeySpec seed_key() {
  return KeySpec("dataset.seed", ValueType::Int, "0",
                 "builtin, synthetic: seed of the generated data (fixed across a sweep's seeds, like a real dataset); "
                 "cub, traveling_birds: of the held-out val split")
      .range(0.0, std::nullopt);
}

KeySpec image_size_key() {
  return KeySpec("dataset.image_size", ValueType::Int, "224",
                 "synthetic, image datasets: side of the square images the model sees")
      .range(8.0, 4096.0);
}

// The built-in benchmark generates its training split with this correlation; Waterbirds
// comes as one folder per variant, and this key says which one a run used, so that runs of
// the 95% and 100% variants have different identities (dataset.root is a path, not part of
// the identity). The reader checks it against metadata.csv.
KeySpec correlation_key() {
  return KeySpec("dataset.correlation", ValueType::Float, "0.95",
                 "builtin: probability that a training sample shows its class's place (1.0: the '100%' variant); "
                 "waterbirds: the variant dataset.root holds (0.95 or 1.0: the fraction of training birds on their "
                 "own place, checked against metadata.csv)")
      .range(0.0, 1.0);
}

}  // namespace aim::data
