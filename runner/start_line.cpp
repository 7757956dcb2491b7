#include "runner/start_line.h"

namespace aim {

std::vector<std::string> start_lines(const RunStart& s) {
  const std::string run = "run " + s.run_id + ": ";
  return {run + "method " + s.method + ", backbone " + s.backbone + ", dataset " + s.dataset,
          run + std::to_string(s.train_samples) + " train samples, " + std::to_string(s.classes) + " classes, " +
              std::to_string(s.parameters) + " parameters, " + std::to_string(s.ranks) + " rank(s) x " +
              std::to_string(s.threads) + " thread(s)"};
}

}  // namespace aim
