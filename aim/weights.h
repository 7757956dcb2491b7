#pragma once
// Import of torchvision weights: an HDF5 file with one dataset per state_dict key at its
// root (scripts/export_torchvision_weights.py writes it). Keys map 1:1 onto
// `backbone.<key>`; the final linear layer (Backbone::torchvision_head()) maps onto the
// model's `head`.
#include <string>

#include "aim/model.h"
#include "aim/model_keys.h"  // add_torchvision_weight_keys

namespace aim {
class Config;
class Schema;
}

namespace aim::model {

// Copies every backbone parameter and buffer from `h5_path` into `model`, and the head
// when the model has one of the same shape. A head of another shape (a different number of
// classes) keeps its fresh initialisation when `allow_new_head`, and is an error otherwise;
// models without a `head` ignore the file's head. Nothing is copied unless everything fits:
// missing, unexpected and mismatched keys are reported together in one aim::Error naming
// the file.
void load_torchvision_weights(Model& model, const std::string& h5_path, bool allow_new_head);

// The number of classes of the head in the file model.weights names (fc.weight,
// classifier.2.weight or head.weight); 0 when model.weights is ~. Throws aim::Error naming
// the file when it has no head.
int64_t classes_in_configured_weights(const Config& cfg);

}  // namespace aim::model
