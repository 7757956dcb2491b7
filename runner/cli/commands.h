#pragma once
// Each subcommand of aimrun registers itself on the app and returns its exit code through
// the callback; the codes are core/exit_codes.h's.
#include <CLI/CLI.hpp>

#include "core/exit_codes.h"

namespace aim::cli {

// The exit code the chosen subcommand asked for.
int& exit_code();

// The check of a number option: finite and in [lo, hi] (CLI11's Range and PositiveNumber
// let NaN through: `--wait nan` waited forever; `--margin nan` was accepted).
CLI::Validator finite_in(double lo, double hi);
// The check of a count option: a whole number in [lo, hi] (`--jobs 0`, `--jobs nan`, `--jobs 2.5`).
CLI::Validator whole_in(long lo, long hi);
// The check of a path option: within NAME_MAX and PATH_MAX, with `below` bytes written
// under it (aim::path_length_problem); a raw filesystem error otherwise, exit 1.
CLI::Validator fits_path_limits(size_t below = 0);

void add_train_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_collect_command(CLI::App& app);
void add_summarize_command(CLI::App& app);
void add_config_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_pictures_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
void add_model_command(CLI::App& app);

}  // namespace aim::cli
