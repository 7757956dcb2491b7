#pragma once
// The checks of one config value against its KeySpec (core/config_check.cpp), shared by
// config.cpp's resolve() and the schema's defaults. Not for use outside core/config*.cpp.
#include <optional>
#include <string>

#include "core/config.h"

namespace aim::config_check {

// Throws ConfigError "where: key: msg".
[[noreturn]] void fail_at(const Location& where, const std::string& key, const std::string& msg);
// "'text'", "a list", "a mapping", "nothing (null)": a value as an error shows it.
std::string describe(const YAML::Node& node);
// Why a scalar is not a finite number ("" when it is one; `out` set then).
std::string parse_float(const YAML::Node& n, double& out);
// The value with canonical scalar text, or a ConfigError naming the key and `where`.
YAML::Node canonical_value(const KeySpec& spec, const YAML::Node& raw, const Location& where);
// Names that become folders or job names, and paths (KeySpec::file_name(), path()).
void check_text(const KeySpec& spec, const YAML::Node& v, const Location& where);
// A key's default as a value (Schema::add); nullopt when the default is not a valid value
// (resolve() then reports it: "default: key: expected ...").
std::optional<ConfigValue> canonical_default(const KeySpec& spec);

}  // namespace aim::config_check
