#pragma once
// Where a run keeps its files: <output_dir>/runs/<run-id>/...
#include <string>

namespace aim {

struct RunPaths {
  std::string dir;
  std::string config() const { return dir + "/config.yaml"; }          // the resolved config
  std::string result() const { return dir + "/result.h5"; }            // present = complete
  std::string checkpoint() const { return dir + "/checkpoint.pt"; }    // latest state, for resume
  std::string log() const { return dir + "/train.log"; }               // appended across restarts
  std::string failed() const { return dir + "/FAILED"; }               // the error of the last attempt
  std::string lock() const { return dir + "/.lock"; }                  // held while a process trains it
};

}  // namespace aim
