#pragma once
// Why a health check (or a worker's connect, for passive checking) failed. Shared by the state
// machine (ServerState.h), which treats every reason alike, and by the check drivers
// (HttpCheck.h and, later, the socket code), which pick the reason. The names are printed in
// logs and on the admin socket: they are a contract.
#include <cstdint>

namespace ringlb::health {

enum class FailureReason : uint8_t {
  Refused,        // the server refused the check's connection (RST on SYN: nothing listening)
  Timeout,        // no connection or no complete answer within the check timeout
  BadStatus,      // HTTP check: a well-formed status line whose code is not expected
  BadResponse,    // HTTP check: the answer is not a valid HTTP/1.x status line (or is cut)
  Error,          // any other failure (unreachable, reset mid-check, local resource shortage)
  ConnectFailed,  // passive: a worker's connect to the server failed (refused or timed out)
};
const char* toString(FailureReason reason);  // "refused", "timeout", "bad_status", ...

}  // namespace ringlb::health
