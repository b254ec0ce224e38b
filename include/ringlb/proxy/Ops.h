#pragma once
// Operation tags a worker puts in user_data (io/UserData.h), shared by the worker's parts.
#include <cstdint>

namespace ringlb::proxy {

enum class Op : uint8_t {
  Accept = 1,      // slot = listener index
  Wake,            // eventfd read: a stop request or another command for the worker
  Connect,         // timed out by the worker's expiry queue (SessionTable), which cancels it
  ClientToServer,  // the operation in flight of direction c2s (besides its standing receive)
  ServerToClient,  // the operation in flight of direction s2c (besides its standing receive)
  Cancel,          // completions of cancel requests: informational only
  ClientReceive,   // the standing receive of direction c2s (on the client socket)
  ServerReceive,   // the standing receive of direction s2c (on the server socket)
};

}  // namespace ringlb::proxy
