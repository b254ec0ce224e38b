#pragma once
// One proxied connection: a client socket, a server socket, and two directions relaying between
// them. Owned by exactly one worker for its whole life.
//
// State. SessionState is the session's lifecycle; it changes only in Worker::transition().
// Each Direction has its own state (DirectionState), changed only in Relay::enter(): which
// operation it has in flight, or how it ended. A direction has one operation in flight, with one
// exception: a standing receive (Direction::standing, see proxy/Relay.h) may stay armed on its
// source while the direction sends what it received. Bytes stay in order because a direction
// never has two receives: the standing one, or a single-shot recv or splice, never both. Memory
// per connection stays bounded: at most one buffer's worth of bytes (or one pipe's) per
// direction, since a standing receive is armed only when the direction holds nothing and the
// kernel ends it before one arming can exceed one buffer's size.
//
// Lifetime. `inflight` counts operations whose completion has not been reaped. A session in
// Closing is freed only when inflight reaches 0; until then completions for it are accounted and
// otherwise ignored. Completions carry (slot, generation): once freed, the generation moves on
// and late completions for the old one are dropped.
#include <chrono>
#include <cstdint>
#include <memory>

#include "ringlb/io/PipePool.h"
#include "ringlb/io/PrivateBuffer.h"
#include "ringlb/lb/Balancer.h"
#include "ringlb/proxy/Snapshot.h"

namespace ringlb::proxy {

using Clock = std::chrono::steady_clock;

enum class SessionState : uint8_t {
  Free,        // slot unused
  Connecting,  // client accepted, connecting to a candidate server (its deadline queued)
  Relaying,    // both sockets open; directions relaying until the relay decides to end
  Closing,     // cancelling in-flight operations; freed when inflight == 0
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

// Why a session ended: one value, recorded where the decision is made (the first reason wins).
// The access log and the metrics will print these names; they are a contract.
enum class CloseReason : uint8_t {
  None,             // still open
  Completed,        // both sides sent FIN and every byte was delivered
  ClientReset,      // the client reset or failed; what it had sent was delivered first
  ServerReset,      // the server reset or failed; what it had sent was delivered first
  ClientTimeout,    // `client` or `client_fin` inactivity timeout
  ServerTimeout,    // `server` or `server_fin` inactivity timeout
  NoServer,         // the balancer had no server to offer
  ConnectFailed,    // every connect attempt failed or timed out
  ResourceShortage, // no descriptor or memory for the server socket, and none came in time
  Shutdown,         // stop: shutdown_grace ended with the session still open
  ServerShutdown,   // its server was marked down (on_marked_down: shutdown)
  AdminKill,        // killed by the admin socket (`shutdown sessions server B/S`)
  Internal,         // an impossible state was caught; closed abortively to be safe
};
const char* toString(CloseReason reason);

// What a direction is doing. One operation in flight at most; the in-flight states name it.
enum class DirectionState : uint8_t {
  Idle,        // nothing in flight; Relay::pump() decides the next step
  Recv,        // recv in flight (a kernel-selected provided buffer, or one lent by a waiter grant)
  Listen,      // the standing receive (armed, counted by `standing`) is all the direction waits
               // for: nothing is held, its next completion brings bytes or the source's end
  Send,        // send of the held bytes [offset, length) in flight
  PollIn,      // poll(POLLIN) on the source in flight: splice mode waiting for bytes, or a
               // copy-mode recv that met an empty buffer ring on a socket with nothing to read
  PollOut,     // splice mode: poll(POLLOUT) on the destination in flight
  WaitBuffer,  // recv answered ENOBUFS: queued (FIFO) for the next buffer returned
  Backoff,     // the kernel was out of memory for a send/splice/recv: retry timer in flight
  Flush,       // waiting (timer in flight) for the destination's kernel send queue to drain
               // before the session is reset, so no delivered byte is discarded: after the
               // source reset, or, for a Done direction, when the session is about to be reset
  Done,        // source FIN forwarded after every byte (final, unless the session is reset:
               // then it drains first, Done -> Flush -> Done)
  Aborted,     // terminal, not clean: the source reset (after its bytes drained) or the
               // destination failed (its bytes cannot be delivered)
};

// The direction state machine's edges: every in-flight state ends in Idle (its completion); only
// Idle starts an operation or ends the direction; WaitBuffer leaves by a buffer grant (Recv);
// Done only drains before a reset (Flush); Aborted is terminal.
constexpr bool transitionAllowed(DirectionState from, DirectionState to) {
  using S = DirectionState;
  switch (from) {
    case S::Idle:
      return to != S::Idle;
    case S::Recv:
    case S::Listen:
    case S::Send:
    case S::PollIn:
    case S::PollOut:
    case S::Backoff:
    case S::Flush:
      return to == S::Idle;
    case S::WaitBuffer:
      return to == S::Recv;
    case S::Done:
      return to == S::Flush;
    case S::Aborted:
      return false;
  }
  return false;
}

constexpr bool isTerminal(DirectionState s) {
  return s == DirectionState::Done || s == DirectionState::Aborted;
}
// True while a timer (not a socket operation) is the direction's operation in flight: closing
// must cancel those by user data, since cancelling by descriptor does not reach them.
constexpr bool hasTimerInFlight(DirectionState s) {
  return s == DirectionState::Backoff || s == DirectionState::Flush;
}

// How the source of a direction ended, as far as the relay knows.
enum class SourceEnd : uint8_t {
  Open,   // still sending (or silent)
  Fin,    // orderly end of stream: forward a FIN once its bytes are delivered
  Reset,  // reset or failed: deliver its bytes, drain, then reset the destination
};

inline constexpr uint16_t kNoBuffer = 0xffff;
// Direction::buffer value meaning "the bytes are in Direction::own", not in a ring buffer.
inline constexpr uint16_t kOwnBuffer = 0xfffe;

// Laid out widest first, flags as bits: one per direction, two per session, and sessions are
// what idle connections cost (docs/benchmarks.md, idle RSS per connection).
struct Direction {
  // A private buffer (one ring buffer's size), taken only when the destination proves slow (a
  // short send from a ring buffer) and released as soon as its bytes are sent: memory follows
  // bytes in flight, not connections that once stalled.
  io::PrivateBuffer own;
  uint64_t bytes = 0;       // bytes delivered
  uint32_t offset = 0;      // copy mode: bytes of the held buffer already sent
  uint32_t length = 0;      // copy mode: bytes in the held buffer
  uint32_t pipePending = 0; // splice mode: bytes in the pipe not yet spliced out
  uint32_t overflow = 0;    // bytes at the start of `own` that a standing receive brought while
                            // the held ring buffer was being sent: they go out next
  int32_t unsent = -1;      // Flush: the destination's unsent+unacked bytes at the last check
  io::Pipe pipe;            // splice mode: held for the direction's life once splicing
  uint16_t buffer = kNoBuffer;      // the provided buffer holding pending bytes, kOwnBuffer
                                    // when they are in `own`, kNoBuffer when none are held
  uint16_t recvBuffer = kNoBuffer;  // a ring buffer granted to this direction's recv in flight
  DirectionState state = DirectionState::Idle;
  SourceEnd source = SourceEnd::Open;
  uint8_t fullReads = 0;    // consecutive recvs that filled a whole buffer (relay: auto)
  uint8_t backoffs = 0;     // Flush/Backoff: timers so far, for the growing interval
  bool splice : 1 = false;    // relay through a pipe (decided per direction, see relay mode)
  bool noSplice : 1 = false;  // splice cannot carry this stream (urgent data): copy for good
  bool readable : 1 = false;  // splice mode: the last poll said the source is readable
  bool finSent : 1 = false;   // the source's FIN was forwarded (shutdown, or left to close())
  bool probing : 1 = false;   // its recv retries the ring after ENOBUFS (Relay::probing_)
  bool standing : 1 = false;  // a standing receive is armed on the source (counted in inflight)
  // The source's end of stream is known before its last bytes are sent (Relay::foreseeEnd, or
  // source == Fin): they go with MSG_MORE so that the FIN rides in their segment.
  bool finFollows : 1 = false;
  bool corked : 1 = false;    // a send with MSG_MORE may have left bytes queued: FIN or push them

  // Whether the source gave anything yet: bytes (held or delivered) or its end. What it gave is
  // on its way to the destination (or ends the session), and the segment carrying it also
  // carries any ACK the destination socket is holding back (HeldAcks).
  bool heardFromSource() const {
    return bytes > 0 || buffer != kNoBuffer || pipePending > 0 || overflow > 0 ||
           source != SourceEnd::Open;
  }
};

struct Session {
  uint32_t generation = 0;
  SessionState state = SessionState::Free;
  bool reset = false;         // close abortively (RST) rather than with FIN
  bool clientFailed = false;  // an operation on the client socket failed (reset, error)
  bool serverFailed = false;  // an operation on the server socket failed
  bool serverCounted = false;  // counted in its server's LiveServer::active
  CloseReason closeReason = CloseReason::None;
  CloseReason failure = CloseReason::None;     // ClientReset/ServerReset: the side that failed first
  CloseReason pendingEnd = CloseReason::None;  // the session is to be reset once its drains end
  uint8_t inflight = 0;
  uint8_t attempt = 0;      // connect attempts made
  uint16_t frontend = 0;
  uint16_t backend = 0;
  uint16_t frontendSlot = 0;  // its frontend's counter slot (Snapshot::frontendSlots)
  uint16_t backendSlot = 0;   // its backend's counter slot (Snapshot::backendSlots)
  int clientFd = -1;
  int serverFd = -1;
  uint32_t server = 0;      // index of the server connected or being connected to
  uint32_t serverSlot = 0;  // that server's counter slot (lb::LiveServer::id)
  lb::Candidates candidates;
  Direction c2s;            // client -> server
  Direction s2c;            // server -> client
  Clock::time_point started;
  Clock::time_point clientActive;
  Clock::time_point serverActive;  // while Connecting: when the current attempt started
  SnapshotPtr snapshot;     // the configuration this session started with
};

// What the relay decides about a session from its two directions (pure; unit-tested).
enum class RelayOutcome : uint8_t {
  Continue,    // some direction can still deliver bytes, or is draining
  CloseClean,  // both directions Done: close with FIN (already sent or sent by close())
  CloseAbort,  // a direction was aborted and nothing deliverable is left: reset both sides
};
RelayOutcome relayOutcome(const Session& s);

}  // namespace ringlb::proxy
