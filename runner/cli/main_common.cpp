#include "runner/cli/main_common.h"

#include <sys/resource.h>

#include <cstdio>
#include <iostream>

#include "core/error.h"
#include "core/exit_codes.h"
#include "core/log.h"
#include "core/memory_limit.h"
#include "runner/cli/command_list.h"
#include "runner/cli/commands.h"

namespace aim::cli {

[[noreturn]] void on_terminate() {
  try {
    if (auto e = std::current_exception()) std::rethrow_exception(e);
  } catch (const std::exception& x) {
    if (!is_allocation_failure(x)) end_process_now(x.what(), 134);
    try {
      end_process_now(with_memory_limits(x.what()), kExitError);
    } catch (...) {  // not even the message fits: said without allocating
      static char line[320];
      struct rlimit as {};
      if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY)
        std::snprintf(line, sizeof line,
                      "std::bad_alloc, and no memory left to say more: this process has the address-space limit "
                      "(ulimit -v) of %llu MiB: raise it (the job's memory, `ulimit -v`)",
                      static_cast<unsigned long long>(as.rlim_cur >> 20));
      else
        std::snprintf(line, sizeof line,
                      "std::bad_alloc in a thread, and no memory left to say more: this process is at its memory "
                      "limit (the job's memory)");
      end_process_now(line, kExitError);
    }
  } catch (...) {
  }
  end_process_now("terminated by an uncaught exception", 134);
}

std::string error_text(const std::exception& e, const std::string& what) {
  if (!is_allocation_failure(e)) return what;
  try {
    return with_memory_limits(what);
  } catch (...) {
    return what;
  }
}

int parse_and_run(CLI::App& app, int argc, char** argv, const std::string& malloc_setting, const MainHooks& hooks) {
  const auto finish = [&hooks](int code) { return hooks.finish ? hooks.finish(code) : code; };
  try {
    if (hooks.set_up) hooks.set_up();
    init_logging();
    spdlog::debug("{}", malloc_setting);
    check_command_names(app, argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitConfig;
  } catch (const ConfigError& e) {
    std::cerr << "aimrun: error: " << e.what() << std::endl;
    return finish(kExitConfig);
  } catch (const Error& e) {
    std::cerr << "aimrun: error: " << e.what() << std::endl;
    return finish(kExitError);
  } catch (const std::exception& e) {
    std::cerr << "aimrun: error: " << error_text(e, hooks.what ? hooks.what(e) : e.what()) << std::endl;
    return finish(kExitError);
  }
  return finish(exit_code());
}

}  // namespace aim::cli
