#pragma once
// Predictions of a trained model on new images: logits, predicted class and, for masking
// models, every stage's mask and the merged mask, written to one HDF5 file.
#include <string>
#include <vector>

namespace aim {

struct PredictOptions {
  std::string run_dir;                 // a trained run (config.yaml + checkpoint.pt), or
  std::string config;                  // a config whose model.weights holds imported weights
  std::vector<std::string> overrides;  // applied to either config
  int64_t num_classes = 0;             // with --config: classes of the head (0: from the weights file)
  std::string images_dir;              // a folder of .jpg/.jpeg/.png/.bmp images (the dataset's evaluation transform), or
  std::string images_h5;               // an HDF5 file with float32 NCHW `images`, already normalised
  int64_t batch_size = 64;
  std::string out;
};

// Returns the number of images predicted.
int64_t predict(const PredictOptions& options);

}  // namespace aim
