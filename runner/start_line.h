#pragma once
// The lines a run prints when it starts (`aimrun train`, each run of `sweep run`): what it
// trains, on what, and how, in two lines that fit a 120-column terminal after the console's
// "[HH:MM:SS] " (core/log.cpp) with the longest registered names.
#include <cstdint>
#include <string>
#include <vector>

namespace aim {

struct RunStart {
  std::string run_id, method, backbone, dataset;
  int64_t train_samples = 0, classes = 0, parameters = 0;
  int ranks = 1, threads = 1;
};

// "run <id>: method <m>, backbone <b>, dataset <d>" and
// "run <id>: <n> train samples, <c> classes, <p> parameters, <r> rank(s) x <t> thread(s)".
std::vector<std::string> start_lines(const RunStart& s);

}  // namespace aim
