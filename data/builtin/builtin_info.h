#pragma once
// The built-in dataset's options from a config (data/builtin/builtin_info.cpp, torch-free).
#include "core/config.h"
#include "data/builtin/fashion_options.h"

namespace aim::data::builtin {

FashionPlacesOptions options_from(const Config& cfg);

}  // namespace aim::data::builtin
