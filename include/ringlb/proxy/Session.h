#pragma once
// One proxied connection: a client socket, a server socket, and two directions relaying between
// them. Owned by exactly one worker for its whole life.
//
// State. SessionState is the session's lifecycle; it changes only in Worker::transition().
// Each Direction additionally records which single operation it has in flight (Phase): a
// direction never has two operations at once, which is what keeps bytes in order and memory per
// connection bounded (at most one buffer or one pipe's worth of bytes per direction).
//
// Lifetime. `inflight` counts operations whose completion has not been reaped. A session in
// Closing is freed only when inflight reaches 0; until then completions for it are accounted and
// otherwise ignored. Completions carry (slot, generation): once freed, the generation moves on
// and late completions for the old one are dropped.
#include <chrono>
#include <cstdint>
#include <memory>

#include "ringlb/io/PipePool.h"
#include "ringlb/lb/Balancer.h"
#include "ringlb/proxy/Snapshot.h"

namespace ringlb::proxy {

using Clock = std::chrono::steady_clock;

enum class SessionState : uint8_t {
  Free,        // slot unused
  Connecting,  // client accepted, connecting to a candidate server (linked timeout armed)
  Relaying,    // both sockets open; directions pumping until both are Done
  Closing,     // cancelling in-flight operations; freed when inflight == 0
};

enum class Phase : uint8_t {
  Idle,       // nothing in flight; pump() decides the next operation
  Recv,       // recv with a provided buffer in flight
  Send,       // send of buffer[offset, length) in flight
  SpliceIn,   // splice mode: poll(POLLIN) on the source in flight, then splice socket -> pipe
  SpliceOut,  // splice mode: poll(POLLOUT) on the destination in flight, then pipe -> socket
  WaitBuffer, // recv answered ENOBUFS: parked until a buffer returns to the ring
  Done,       // source reached EOF, everything forwarded, peer shut down for writing
};

// The session state machine's edges. Pure, so it is unit-tested on its own.
constexpr bool transitionAllowed(SessionState from, SessionState to) {
  switch (to) {
    case SessionState::Connecting:
      return from == SessionState::Free;
    case SessionState::Relaying:
      return from == SessionState::Connecting;
    case SessionState::Closing:
      return from == SessionState::Connecting || from == SessionState::Relaying;
    case SessionState::Free:
      return from == SessionState::Closing;
  }
  return false;
}

inline constexpr uint16_t kNoBuffer = 0xffff;
// Direction::buffer value meaning "the bytes are in Direction::own", not in a ring buffer.
inline constexpr uint16_t kOwnBuffer = 0xfffe;

struct Direction {
  Phase phase = Phase::Idle;
  bool eof = false;         // the source sent FIN (pending bytes may remain to forward)
  bool splice = false;      // relay through a pipe (decided per direction, see relay mode)
  bool noSplice = false;    // splice cannot carry this stream (urgent data): copy for good
  bool readable = false;    // splice mode: the last poll said the source is readable
  uint8_t fullReads = 0;    // consecutive recvs that filled a whole buffer (relay: auto)
  uint16_t buffer = kNoBuffer;  // copy mode: the provided buffer holding pending bytes, or
                                // kOwnBuffer when they are in `own`
  // A private buffer (one ring buffer's size), allocated the first time the destination proves
  // slow (a short send). From then on this direction receives into it instead of the shared
  // ring, so slow readers cannot pin the worker's provided buffers and starve other sessions.
  std::unique_ptr<uint8_t[]> own;
  uint32_t offset = 0;      // copy mode: bytes of `buffer` already sent
  uint32_t length = 0;      // copy mode: bytes in `buffer`
  uint32_t pipePending = 0; // splice mode: bytes in the pipe not yet spliced out
  io::Pipe pipe;            // splice mode: held for the direction's life once splicing
  uint64_t bytes = 0;       // bytes forwarded
};

struct Session {
  uint32_t generation = 0;
  SessionState state = SessionState::Free;
  bool reset = false;       // close abortively (RST) rather than with FIN
  uint8_t inflight = 0;
  uint8_t attempt = 0;      // connect attempts made
  uint16_t frontend = 0;
  uint16_t backend = 0;
  int clientFd = -1;
  int serverFd = -1;
  uint32_t server = 0;      // index of the server connected or being connected to
  bool serverCounted = false;  // server's ServerLoad slot is held
  lb::Candidates candidates;
  Direction c2s;            // client -> server
  Direction s2c;            // server -> client
  Clock::time_point clientActive;
  Clock::time_point serverActive;
  SnapshotPtr snapshot;     // the configuration this session started with
};

}  // namespace ringlb::proxy
