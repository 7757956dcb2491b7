#include "core/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

#include "core/error.h"

namespace aim {

namespace {
std::mutex mutex;
int current_rank = 0;
}

void init_logging(int rank, const std::string& level) {
  std::lock_guard<std::mutex> lock(mutex);
  current_rank = rank;
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("aimrun", console);
  std::string prefix = rank == 0 ? "" : "[rank " + std::to_string(rank) + "] ";
  logger->set_pattern("[%H:%M:%S] %^" + prefix + "%v%$");
  auto lvl = spdlog::level::from_str(level);
  if (rank != 0 && lvl < spdlog::level::warn) lvl = spdlog::level::warn;
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void add_log_file(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex);
  try {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
    sink->set_pattern("[%Y-%m-%d %H:%M:%S] [rank " + std::to_string(current_rank) + "] %l: %v");
    spdlog::default_logger()->sinks().push_back(sink);
  } catch (const spdlog::spdlog_ex& e) {
    throw Error(path + ": cannot open log file: " + e.what());
  }
}

void remove_log_files() {
  std::lock_guard<std::mutex> lock(mutex);
  auto& sinks = spdlog::default_logger()->sinks();
  if (sinks.size() > 1) sinks.resize(1);
}

}  // namespace aim
