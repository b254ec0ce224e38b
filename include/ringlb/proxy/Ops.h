#pragma once
// Operation tags a worker puts in user_data (io/UserData.h), shared by the worker's parts.
#include <cstdint>

namespace ringlb::proxy {

enum class Op : uint8_t {
  Accept = 1,      // slot = listener index
  Wake,            // eventfd read: a stop request or another command for the worker
  Connect,
  ConnectTimeout,
  ClientToServer,  // the one operation in flight of direction c2s
  ServerToClient,  // the one operation in flight of direction s2c
  Cancel,          // completions of cancel requests: informational only
};

}  // namespace ringlb::proxy
