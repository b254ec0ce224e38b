#pragma once
// The relay: moves bytes both ways between a session's client and server once connected, one
// direction at a time per direction, and decides how the session ends.
//
// Each direction loops receive -> send (copy, through a provided buffer) or splice-in ->
// splice-out (through a pooled pipe) with one operation in flight, so bytes are forwarded in
// order, once, and a direction never holds more than one buffer or one pipe of data: a slow
// reader throttles its writer through TCP flow control instead of growing our memory.
//
// Standing receive (copy mode, when the kernel can bound it: RelayIo::standingLimit() > 0). A
// direction whose last read did not fill a buffer (interactive traffic) receives with a
// multishot recv that stays armed across exchanges instead of a recv, a failed first attempt
// and a poll arming per message. Its bound replaces "one recv per direction":
//   - it is armed only when the direction holds nothing, and the kernel ends it after `limit`
//     bytes (each completion carries at most `limit`), so one arming brings at most
//     2 * limit - 1 <= bufferSize - 1 bytes: a direction still holds at most one buffer's worth;
//   - bytes it brings while the direction is sending are copied behind the held ones into the
//     direction's private buffer (Direction::overflow) and their ring buffer goes back at once,
//     so across loop turns a direction pins at most one ring buffer, as before. Within a turn it
//     is one per completion reaped: the kernel may post several before the worker reaps them
//     (a single-shot recv took one). Memory: the held bytes never exceed one buffer's worth,
//     though they may sit in a ring buffer and the private buffer at once;
//   - it is the direction's only receive: nothing else reads or splices that source while it
//     is armed, so bytes stay in order. A read that fills `limit` ends it (the total is reached)
//     and marks the direction bulk: single-shot recvs, then splice under relay: auto.
//
// Each direction's DirectionState changes only in enter(), checked against
// transitionAllowed(DirectionState, DirectionState); pump() is the one place that decides a
// direction's next step from its state, and settle() the one place that decides, from both
// directions, whether and how the session ends (relayOutcome()):
//   - source FIN: deliver every held byte, then forward the FIN (Done); both Done: clean close;
//   - source reset/failure: deliver every held byte, wait until the destination's kernel queue
//     has drained (Flush), then reset both sides (a reset discards unsent data, so resetting
//     earlier would lose bytes we had accepted);
//   - destination failure: the held bytes cannot be delivered (Aborted); the session resets as
//     soon as the other direction has delivered what its source still had.
// A session ended from outside (timeouts, the end of a graceful stop) always resets: a direction
// whose source has not ended must never look complete to its peer.
//
// Threading: worker thread only, like everything it touches.
#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>

#include "ringlb/io/Ring.h"
#include "ringlb/proxy/RelayIo.h"
#include "ringlb/proxy/Session.h"
#include "ringlb/stats/Counters.h"

namespace ringlb::proxy {

struct RelayOptions {
  uint8_t autoSpliceAfter = 4;  // relay auto: consecutive full reads before switching to splice
  int spliceCallsPerTurn = 8;   // splice calls before a bulk direction yields to the loop
};

class Relay {
 public:
  // `now` is the worker's loop clock, read when activity is recorded. Delivered bytes are counted
  // in `stats` (the session's frontend and server slots, reserved by the worker).
  Relay(RelayIo& io, RelayHost& host, const Clock::time_point& now, stats::WorkerCounters& stats,
        RelayOptions options = {});

  // The connect succeeded: the session is Relaying; starts both directions.
  void start(Session& s, uint32_t slot);
  // A completion for direction c2s/s2c of a session that is Relaying or Closing. In Closing it
  // only accounts for what the operation still did (a buffer it took); the caller frees the
  // session once inflight reaches 0.
  void onCompletion(Session& s, uint32_t slot, bool c2s, const io::Completion& completion);
  // A completion of direction c2s/s2c's standing receive (tagged standingTag()), in any state.
  void onStanding(Session& s, uint32_t slot, bool c2s, const io::Completion& completion);
  // Direction c2s/s2c's standing receive reported its source's end of stream in the batch being
  // dispatched (the worker looks ahead before dispatching it). Bytes sent before that completion
  // is handled go with MSG_MORE, so the FIN forwarded right after them leaves in their segment:
  // two segments fewer per connection that ends this way (the FIN's own, and the peer's ACK of
  // the bytes), as HAProxy does. Contract: the end-of-stream completion is dispatched in the same
  // batch, so the FIN (or, for an end that turns out a reset, a push) follows within one turn.
  void foreseeEnd(Session& s, bool c2s);
  // Ends a relaying session from outside (an inactivity timeout): it is reset, but only once
  // what a working peer is still taking of a complete stream has drained (see settle()). A
  // second call while it drains changes nothing; the caller closes it outright if it must.
  void end(Session& s, uint32_t slot, CloseReason reason);
  // At free time: returns every buffer and pipe the session's directions still hold.
  void releaseHeld(Session& s);
  // Returns ring buffer `id`: to the first direction waiting for one (FIFO), else to the ring.
  void releaseBuffer(uint16_t id);
  // The ring buffer a completion brought, now the relay's (kNoBuffer if it brought none). Every
  // completion that may carry one goes through here (or discardBuffer): a buffer left untaken
  // would leave the ring's count of buffers in flight wrong for good.
  uint16_t takeBuffer(const io::Completion& completion);
  // Takes a completion's buffer, if any, and returns it at once: nobody will use its bytes.
  void discardBuffer(const io::Completion& completion);

  std::size_t waiting() const { return waiters_.size(); }
  // Bytes delivered (both directions, all sessions) since the last call: the worker's measure of
  // bulk load for its next wait (WaitPolicy).
  uint64_t takeTurnBytes() { return std::exchange(turnBytes_, 0); }
  static uint64_t tag(const Session& s, uint32_t slot, bool c2s);
  static uint64_t standingTag(const Session& s, uint32_t slot, bool c2s);

 private:
  struct Waiter {
    uint32_t slot;
    uint32_t generation;
    bool c2s;
  };

  bool enter(Session& s, uint32_t slot, Direction& d, DirectionState to);
  void pump(Session& s, uint32_t slot, bool c2s);
  void receive(Session& s, uint32_t slot, bool c2s);
  void sendHeld(Session& s, uint32_t slot, bool c2s);
  void splice(Session& s, uint32_t slot, bool c2s);
  void flush(Session& s, uint32_t slot, bool c2s);
  // Waits (Flush, a timer) while the destination's kernel queue still holds bytes and the peer
  // can take them. False, changing nothing but failure marks, when there is nothing to wait for.
  bool drain(Session& s, uint32_t slot, bool c2s);
  void backoff(Session& s, uint32_t slot, bool c2s);
  // Sends what the direction's sends with MSG_MORE left held in the destination, if anything:
  // for when its FIN will not follow at once (a backoff, an end that turned out a reset).
  void pushHeld(Session& s, bool c2s);
  // Makes a timer of growing interval the direction's operation (Backoff or Flush).
  void waitTimer(Session& s, uint32_t slot, bool c2s, DirectionState state);
  void settle(Session& s, uint32_t slot);

  void onRecv(Session& s, uint32_t slot, bool c2s, const io::Completion& completion);
  // A receive's result for an Idle direction holding nothing: `got` is the buffer holding the
  // bytes (or kNoBuffer), `full` the size of a read that filled what it was allowed.
  void received(Session& s, uint32_t slot, bool c2s, int res, uint16_t got, unsigned full);
  // Bytes a standing receive brought while the direction was busy: queued behind the held ones.
  void overflow(Session& s, uint32_t slot, bool c2s, uint16_t got, int res);
  // Counts a read toward the bulk heuristics (single-shot receives, relay: auto's splice).
  void noteRead(Session& s, Direction& d, int res, unsigned full);
  // Ends the session at once because the relay's own accounting broke (a bug, logged).
  void internalError(Session& s, uint32_t slot, const char* what);
  void onSend(Session& s, uint32_t slot, bool c2s, int res);
  void onPoll(Session& s, uint32_t slot, bool c2s, bool wasPollIn, int res);
  void waitForBuffer(Session& s, uint32_t slot, bool c2s);
  // A side failed (reset or error seen on its socket).
  void sideFailed(Session& s, bool client);
  // Every held byte was sent: gives the holding buffer back; queued overflow is held next.
  void sent(Direction& d);
  // Drops every byte a direction holds (undeliverable: its destination is gone, or the session
  // is freed) and gives their buffers back.
  void discard(Direction& d);
  void delivered(Session& s, bool c2s, uint64_t n);
  void touch(Session& s, bool client);

  RelayIo& io_;
  RelayHost& host_;
  const Clock::time_point& now_;
  stats::WorkerCounters& stats_;
  RelayOptions options_;
  std::deque<Waiter> waiters_;
  // Directions retrying the ring after ENOBUFS because buffers came back meanwhile (at most one
  // per buffer in the ring).
  unsigned probing_ = 0;
  uint64_t turnBytes_ = 0;
};

}  // namespace ringlb::proxy
