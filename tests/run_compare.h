#pragma once
// Everything a resumed run must reproduce exactly: the curves (not the timings), every
// split's predictions, losses and metrics.
#include <gtest/gtest.h>

#include <string>

#include "results/run_file.h"

namespace aim::test {

inline bool is_timing_series(const std::string& name) {
  return name == "images_per_s" || (name.size() > 8 && name.compare(name.size() - 8, 8, "_seconds") == 0);
}

inline void expect_same_results(const std::string& a_path, const std::string& b_path) {
  auto a = results::read_run_file(a_path), b = results::read_run_file(b_path);
  ASSERT_EQ(a.curves.epoch, b.curves.epoch);
  for (const auto& [name, v] : a.curves.series) {
    if (is_timing_series(name)) continue;
    ASSERT_TRUE(b.curves.series.count(name)) << name;
    EXPECT_EQ(v, b.curves.series.at(name)) << name;
  }
  ASSERT_EQ(a.eval_curves.size(), b.eval_curves.size());
  for (const auto& [split, c] : a.eval_curves) {
    ASSERT_TRUE(b.eval_curves.count(split)) << split;
    EXPECT_EQ(c.epoch, b.eval_curves.at(split).epoch) << split;
    EXPECT_EQ(c.accuracy, b.eval_curves.at(split).accuracy) << split;
    EXPECT_EQ(c.loss, b.eval_curves.at(split).loss) << split;
  }
  ASSERT_EQ(a.mask_curves.size(), b.mask_curves.size());
  for (size_t i = 0; i < a.mask_curves.size(); ++i) {
    EXPECT_EQ(a.mask_curves[i].active_mean, b.mask_curves[i].active_mean);
    EXPECT_EQ(a.mask_curves[i].histogram, b.mask_curves[i].histogram);
  }
  for (const char* key : {"explain", "select"})  // eval.explain, eval.select (docs/evaluation.md)
    EXPECT_EQ(a.text.count(key) ? a.text.at(key) : "", b.text.count(key) ? b.text.at(key) : "") << key;
  EXPECT_EQ(a.numbers.count("selected_epoch") ? a.numbers.at("selected_epoch") : -1.0,
            b.numbers.count("selected_epoch") ? b.numbers.at("selected_epoch") : -1.0);
  ASSERT_EQ(a.splits.size(), b.splits.size());
  for (size_t i = 0; i < a.splits.size(); ++i) {
    EXPECT_EQ(a.splits[i].pred, b.splits[i].pred) << a.splits[i].split;
    EXPECT_EQ(a.splits[i].loss, b.splits[i].loss) << a.splits[i].split;
    EXPECT_EQ(a.splits[i].scalars, b.splits[i].scalars) << a.splits[i].split;
    EXPECT_EQ(a.splits[i].group_means, b.splits[i].group_means) << a.splits[i].split;
  }
}

}  // namespace aim::test
