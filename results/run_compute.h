#pragma once
// The compute a done run cost: (train_seconds + eval_seconds) x world_size from its record,
// as adaptive seeds and searches tally it (0 for what the record lacks; 1 rank without it).
#include "results/run_record.h"

namespace aim::results {

inline double run_compute_seconds(const RunRecord& r) {
  auto get = [&](const char* k, double d) {
    auto it = r.numbers.find(k);
    return it == r.numbers.end() ? d : it->second;
  };
  return (get("train_seconds", 0) + get("eval_seconds", 0)) * get("world_size", 1);
}

}  // namespace aim::results
