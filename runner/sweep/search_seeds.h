#pragma once
// sweep.search beside sweep.seeds (docs/sweeps.md, "A search, then seeds of its winners"): the
// search runs first, every candidate at seed 0; once every group of the grid has its winner,
// the adaptive-seed rounds run on the winners: each group's seed 0 is its winner itself (the
// same config and run id, done already), and seeds 1.. of the winner's config are added round
// by round while a comparison is open, as sweep.seeds does for a plain grid. A comparison
// pairs groups by method only: the searched keys are not part of the pairing (the winners'
// values differ between methods). A candidate stopped at a rung is never a seed: the rounds
// hold only the winners' configs. Everything follows from the run folders (the rungs, then
// the rounds), so `sweep plan`, `status`, `run` and a Slurm round job find the same place.
#include "runner/sweep/search_rungs.h"
#include "runner/sweep/seed_rounds.h"
#include "runner/sweep/sweep_spec.h"

namespace aim {

// Beside sweep.seeds, a searched `seed` key is a ConfigError at its line (the seeds are
// sweep.seeds': the search runs at seed 0).
void check_search_beside_seeds(const YAML::Node& search, const YAML::Node& seeds, const std::string& file);

// At load: `sweep.runs` is every run of grid x seeds x searched axes. Keeps them as the seed
// pool, makes the search's candidates of seed 0 (the seed left out of their axes, so groups,
// labels and search-winners.yaml are those of the search alone), and checks that every decide
// entry pairs (ConfigError at the entry, before anything runs) on the first candidate of each
// group standing in for its winner. A comparison does not pair on the searched keys, nor on
// `unpaired` (the keys zipped with the method).
void split_search_seeds(Sweep& sweep, const SearchSpec& search, const SeedsSpec& seeds,
                        std::vector<std::string> unpaired);

// Plays the rungs (apply_search), then, once every group has its winner, the rounds on the
// winners' seeds; sets sweep.runs to the candidates (with seed 0 in their axes) and the
// winners' added seeds of the rounds so far. Before that, sweep.seeds says why it waits
// (SeedRounds::blocked).
void apply_search_seeds(Sweep& sweep);

}  // namespace aim
