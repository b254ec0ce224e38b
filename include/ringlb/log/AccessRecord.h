#pragma once
// What a worker knows about a session when it ends: the input of one access log line
// (log/AccessFormat.h). A view, not a copy: the strings point into the session, the snapshot
// and the worker's own storage, and must stay valid only while the line is being formatted.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ringlb::log {

struct AccessRecord {
  std::chrono::system_clock::time_point start;  // when the client connection was accepted
  std::chrono::milliseconds duration{0};        // from start to the session's end
  // From the first connect attempt to the server connection that succeeded; none when no
  // connect succeeded (no server, every attempt failed, the client left first).
  std::optional<std::chrono::milliseconds> connectTime;
  std::string_view clientAddress;  // already rendered: "ip:port" or "[v6]:port"
  std::string_view frontend;
  std::string_view backend;
  std::string_view server;  // empty when no server was chosen
  uint64_t bytesIn = 0;     // client -> server
  uint64_t bytesOut = 0;    // server -> client
  std::string_view reason;  // proxy::toString(CloseReason): "completed", "client_reset", ...
  uint8_t attempts = 0;     // connect attempts, the first included
  unsigned worker = 0;      // the worker thread's index, from 0
};

}  // namespace ringlb::log
