#pragma once
// A trained run loaded back: its config, its model with the checkpoint's weights, and the
// classes its outputs stand for.
#include <memory>
#include <string>
#include <vector>

#include "aim/model.h"
#include "core/config.h"

namespace aim {

struct TrainedRun {
  Config config;
  std::shared_ptr<model::Model> model;  // in eval mode
  std::vector<std::string> class_names;
};

// The model lands on the device `device: auto` selects for this local rank.
TrainedRun load_trained_run(const std::string& run_dir, const std::vector<std::string>& overrides = {},
                            int local_rank = 0);

}  // namespace aim
