#include "runner/comm/agree.h"

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include <cstring>
#include <exception>

#include "core/stop_signal.h"

namespace aim::comm {

namespace {

enum Kind : int64_t { kNone = 0, kError, kConfig, kData, kBusy, kStop };

template <class E>
struct Agreed : E, AgreedMark {
  using E::E;
};

[[noreturn]] void rethrow(Kind kind, const std::string& msg) {
  switch (kind) {
    case kConfig: throw Agreed<ConfigError>(msg);
    case kData: throw Agreed<DataError>(msg);
    case kBusy: throw Agreed<RunBusy>(msg);
    case kStop:
      throw Agreed<StopRequested>(msg);
    default: throw Agreed<Error>(msg);
  }
}

Kind classify(std::exception_ptr e, std::string& msg) {
  try {
    std::rethrow_exception(e);
  } catch (const RunBusy& x) {
    msg = x.what();
    return kBusy;
  } catch (const StopRequested& x) {
    msg = x.what();
    return kStop;
  } catch (const ConfigError& x) {
    msg = x.what();
    return kConfig;
  } catch (const DataError& x) {
    msg = x.what();
    return kData;
  } catch (const c10::Error& x) {
    msg = x.what_without_backtrace();
  } catch (const std::exception& x) {
    msg = x.what();
  } catch (...) {
    msg = "unknown error";
  }
  return kError;
}

}  // namespace

bool is_agreed(const std::exception& e) { return dynamic_cast<const AgreedMark*>(&e) != nullptr; }

bool broadcast_flag(Communicator& comm, bool value, int root) {
  if (comm.world_size() == 1) return value;
  auto t = torch::tensor({int64_t(value)}, torch::kLong);
  comm.broadcast(t, root);
  return t.item<int64_t>() != 0;
}

std::string broadcast_text(Communicator& comm, const std::string& text, int root) {
  if (comm.world_size() == 1) return text;
  auto n = torch::tensor({int64_t(text.size())}, torch::kLong);
  comm.broadcast(n, root);
  auto bytes = torch::zeros({n.item<int64_t>()}, torch::kUInt8);
  if (comm.rank() == root) std::memcpy(bytes.data_ptr(), text.data(), text.size());
  if (bytes.numel() > 0) comm.broadcast(bytes, root);
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr()), size_t(bytes.numel()));
}

void run_agreed(Communicator& comm, const std::function<void()>& part) {
  Kind kind = kNone;
  std::string msg;
  try {
    part();
  } catch (...) {
    kind = classify(std::current_exception(), msg);
  }
  if (comm.world_size() == 1) {
    if (kind != kNone) rethrow(kind, msg);
    return;
  }
  // Each rank's kind in its own slot: the first failing rank's message wins.
  auto kinds = torch::zeros({comm.world_size()}, torch::kLong);
  kinds[comm.rank()] = int64_t(kind);
  comm.allreduce_sum(kinds);
  for (int r = 0; r < comm.world_size(); ++r) {
    auto k = Kind(kinds[r].item<int64_t>());
    if (k == kNone) continue;
    auto text = broadcast_text(comm, msg, r);
    rethrow(k, r == 0 || comm.world_size() == 1 ? text : "rank " + std::to_string(r) + ": " + text);
  }
}

}  // namespace aim::comm
