#pragma once
// What a successive-halving search (runner/sweep/search_rungs.h) shows and leaves: the text of
// `sweep plan` / `sweep status` / `sweep run` (rungs, candidates, survivors, what is decided,
// the winners, the compute) and <sweep>/search-winners.yaml. docs/sweeps.md, "Search".
#include <string>

#include "runner/sweep/search_rungs.h"

namespace aim {

// A search in one stage of a sweep in stages: per group and later stage, how many runs start
// from the group's winner, or wait for it to be decided, or never start (no winner). "" for
// any other sweep.
std::string describe_later_stages(const Sweep& sweep);

// Per group its rungs: candidates, ranked with their scores once decided, how many were
// promoted, what an undecided rung waits for; the winner; the compute so far beside an
// estimate of every candidate trained to the last rung.
std::string describe_search(const SearchState& s);

// <sweep>/search-winners.yaml: each group's winner (run id, searched values, metric, score)
// or `winner: ~` and why; once every group has one, `zip:` (the winners as one zip group, for
// a sweep of their own). Written atomically (by `sweep run`, after each pass).
std::string search_winners_path(const Sweep& sweep);
void write_search_winners(const Sweep& sweep);

}  // namespace aim
