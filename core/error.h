#pragma once
// Errors the runner reports to users. Every message names what was wrong and where
// (file, line, key); main() prints it to stderr and exits non-zero.
#include <stdexcept>
#include <string>

namespace aim {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration or sweep file is wrong: the message starts with "file:line: key:".
class ConfigError : public Error {
 public:
  using Error::Error;
};

// Input data (dataset files, result files) is missing or malformed.
class DataError : public Error {
 public:
  using Error::Error;
};

}  // namespace aim
