#pragma once
// Logging through spdlog: the console gets "[time] message" on stderr (stdout stays clean
// for tables); ranks other than 0 only log warnings and errors, prefixed with their rank.
// A run also logs to <run>/train.log (appended, so a requeued run keeps its history).
#include <spdlog/spdlog.h>

#include <string>

namespace aim {

void init_logging(int rank = 0, const std::string& level = "info");
void add_log_file(const std::string& path);
void remove_log_files();

}  // namespace aim
