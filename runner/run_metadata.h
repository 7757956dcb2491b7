#pragma once
// What every result file (train's result.h5, evaluate's evaluation.h5) says about the run it
// describes: its identity and resolved config, the method, dataset and backbone, the
// evaluation protocol (which class is explained, which epoch rule), and the code and library
// versions. One function, so that the two files cannot drift apart.
#include "core/config.h"
#include "results/run_record.h"

namespace aim {

void describe_run(const Config& cfg, results::RunRecord& rec);

}  // namespace aim
