#pragma once
// The client side of support/DuplexProtocol.h: one connection that sends its stream while
// receiving the backend's, both at once (a second thread sends), then reports the digests.
#include <cstdint>

#include "support/Client.h"
#include "support/Deadline.h"
#include "support/Sha256.h"

namespace ringlb::test {

struct DuplexOptions {
  std::uint64_t seed = 1;                 // identifies the connection at the backend
  std::uint64_t sendBytes = 0;            // client -> backend, after the header
  std::uint64_t receiveBytes = 0;         // asked of the backend in the header
  std::size_t chunk = 64 * 1024;          // send granularity
  Clock::duration pause = Clock::duration::zero();  // between chunks: a trickling client
  Clock::duration timeout = 60s;          // the whole exchange
};

struct DuplexResult {
  int connectError = 0;  // errno; 0 if connected
  bool sendOk = false;   // header + every byte sent, then FIN
  int sendError = 0;
  std::uint64_t bytesSent = 0;
  Digest sentSha{};
  DrainResult received;  // what came back, and how the stream ended
};

DuplexResult runDuplex(std::uint16_t port, const DuplexOptions& options);

// SHA-256 of the first n bytes of Pattern(seed): what a correct relay delivers.
Digest patternSha(std::uint64_t seed, std::uint64_t n);

}  // namespace ringlb::test
