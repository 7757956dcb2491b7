#pragma once
// Writing JSON by hand, in one spelling: strings escaped for any JSON reader, doubles that
// read back to the same bits (as floats, never as integers). Readers parse it with yaml-cpp
// (a JSON text is YAML) or, in Python, with json.
#include <string>

namespace aim {

// "..." with quotes, backslashes and control characters escaped (\uXXXX).
std::string json_string(const std::string& s);
// The shortest text that reads back to `v` exactly, with a '.' or an exponent (so Python's
// json gives a float); NaN, Infinity and -Infinity as Python's json writes them.
std::string json_double(double v);
// The inverse of json_double for a scalar's text (yaml-cpp hands JSON numbers over as text):
// throws std::invalid_argument when `text` is not a number.
double parse_json_double(const std::string& text);

}  // namespace aim
