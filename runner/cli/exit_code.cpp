#include "runner/cli/commands.h"

namespace aim::cli {

int& exit_code() {
  static int code = 0;
  return code;
}

}  // namespace aim::cli
