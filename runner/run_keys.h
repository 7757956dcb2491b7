#pragma once
// The keys of the runner that are declared apart from the code that reads them, so that the
// schema needs no libtorch (docs/architecture.md, "Two executables"): `device`
// (runner/device.cpp reads it) and eval.* (runner/eval_schedule.cpp).
#include "core/config.h"

namespace aim {

// The `device` key, read by select_device.
void add_device_keys(Schema& schema);
// eval.*: the final evaluation (runner/eval_schedule.h).
void add_eval_keys(Schema& schema);

}  // namespace aim
