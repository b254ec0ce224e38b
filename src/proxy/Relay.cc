// Relaying (see proxy/Relay.h for the contract). Every direction's step is decided in pump() and
// every end of a session in settle(); completions only record what happened and call pump().
#include "ringlb/proxy/Relay.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ringlb/io/UserData.h"
#include "ringlb/proxy/Ops.h"

namespace ringlb::proxy {
namespace {

Direction& direction(Session& s, bool c2s) { return c2s ? s.c2s : s.s2c; }
int sourceFd(const Session& s, bool c2s) { return c2s ? s.clientFd : s.serverFd; }
int destinationFd(const Session& s, bool c2s) { return c2s ? s.serverFd : s.clientFd; }
bool sourceFailed(const Session& s, bool c2s) { return c2s ? s.clientFailed : s.serverFailed; }
bool destinationFailed(const Session& s, bool c2s) {
  return c2s ? s.serverFailed : s.clientFailed;
}

// Kernel out of memory for this operation: a pause, not a peer's fault (docs/principles.md).
bool isResourceShortage(int err) { return err == -ENOBUFS || err == -ENOMEM; }

// The first backoff/flush timers are short (a drain on loopback takes microseconds), later ones
// grow to kMaxInterval so a long drain costs a few wake-ups a second, not a spin.
constexpr std::chrono::milliseconds kMaxInterval{64};
std::chrono::milliseconds interval(uint8_t attempt) {
  return std::min(kMaxInterval, std::chrono::milliseconds(1L << std::min<int>(attempt, 6)));
}

}  // namespace

RelayOutcome relayOutcome(const Session& s) {
  const Direction& c2s = s.c2s;
  const Direction& s2c = s.s2c;
  if (c2s.state == DirectionState::Done && s2c.state == DirectionState::Done) {
    return RelayOutcome::CloseClean;
  }
  // A drain in progress: the reset would discard what the peer is still taking.
  if (c2s.state == DirectionState::Flush || s2c.state == DirectionState::Flush) {
    return RelayOutcome::Continue;
  }
  // A direction can still deliver if it has not ended, its destination works, and its source
  // has failed (so it is reading the rest of what that source sent, or draining it). One whose
  // source is fine but whose peer side is gone cannot deliver anything that matters.
  const auto stillDelivering = [&s](const Direction& d, bool isC2s) {
    return !isTerminal(d.state) && !destinationFailed(s, isC2s) &&
           (sourceFailed(s, isC2s) || d.source == SourceEnd::Reset);
  };
  if (c2s.state == DirectionState::Aborted) {
    return stillDelivering(s2c, false) ? RelayOutcome::Continue : RelayOutcome::CloseAbort;
  }
  if (s2c.state == DirectionState::Aborted) {
    return stillDelivering(c2s, true) ? RelayOutcome::Continue : RelayOutcome::CloseAbort;
  }
  return RelayOutcome::Continue;
}

Relay::Relay(RelayIo& io, RelayHost& host, const Clock::time_point& now, stats::WorkerCounters& stats,
             RelayOptions options)
    : io_(io), host_(host), now_(now), stats_(stats), options_(options) {}

uint64_t Relay::tag(const Session& s, uint32_t slot, bool c2s) {
  const Op op = c2s ? Op::ClientToServer : Op::ServerToClient;
  return io::UserData{static_cast<uint8_t>(op), s.generation, slot}.encode();
}

uint64_t Relay::standingTag(const Session& s, uint32_t slot, bool c2s) {
  const Op op = c2s ? Op::ClientReceive : Op::ServerReceive;
  return io::UserData{static_cast<uint8_t>(op), s.generation, slot}.encode();
}

bool Relay::enter(Session& s, uint32_t slot, Direction& d, DirectionState to) {
  if (!transitionAllowed(d.state, to)) {
    spdlog::error("session {}: refused direction transition {} -> {}", slot,
                  static_cast<int>(d.state), static_cast<int>(to));
    return false;
  }
  const DirectionState from = std::exchange(d.state, to);
  switch (to) {
    case DirectionState::Recv:
    case DirectionState::Send:
    case DirectionState::PollIn:
    case DirectionState::PollOut:
    case DirectionState::Backoff:
    case DirectionState::Flush:
      ++s.inflight;
      break;
    case DirectionState::Idle:
      // (Listen's operation is the standing receive, counted while `standing` is set.)
      if (from != DirectionState::Listen) --s.inflight;
      break;
    case DirectionState::Listen:
      break;
    case DirectionState::WaitBuffer:
      stats_.add(stats::WorkerStat::BufferWaits);
      break;
    case DirectionState::Done:
    case DirectionState::Aborted:
      break;
  }
  return true;
}

void Relay::start(Session& s, uint32_t slot) {
  const config::RelayMode mode = s.snapshot->config->backends[s.backend].relay;
  s.c2s.splice = s.s2c.splice = (mode == config::RelayMode::Splice);
  const uint32_t generation = s.generation;
  pump(s, slot, true);
  // The first direction may already have ended the session (a pipe could not be had and the
  // socket failed at once...): only go on with the same, still relaying session.
  if (s.generation == generation && s.state == SessionState::Relaying) pump(s, slot, false);
}

void Relay::pump(Session& s, uint32_t slot, bool c2s) {
  Direction& d = direction(s, c2s);
  if (s.state != SessionState::Relaying || d.state != DirectionState::Idle) return;
  if (destinationFailed(s, c2s)) {
    // Nobody left to deliver to: whatever is held is lost with the peer that left.
    discard(d);
    enter(s, slot, d, DirectionState::Aborted);
    settle(s, slot);
    return;
  }
  if (d.buffer == kNoBuffer && d.overflow > 0) {
    // Bytes a standing receive queued in the private buffer: they are the held bytes now.
    d.buffer = kOwnBuffer;
    d.offset = 0;
    d.length = std::exchange(d.overflow, 0);
  }
  if (d.buffer != kNoBuffer) {
    sendHeld(s, slot, c2s);
    return;
  }
  if (d.pipePending > 0) {
    splice(s, slot, c2s);  // drain the pipe before anything else, an end of stream included
    return;
  }
  // (An end of stream read after the source was seen failing is recorded as Reset where it is
  // read: it is the aftermath of a reset, not a FIN. A FIN read before stays a FIN.)
  switch (d.source) {
    case SourceEnd::Fin: {
      if (d.finSent) {
        // Back from a drain tick (the session is to be reset): drain on, or be Done again.
        if (drain(s, slot, c2s)) return;
        enter(s, slot, d, DirectionState::Done);
        settle(s, slot);
        return;
      }
      // Everything the source sent before its FIN is delivered: forward the FIN.
      const bool otherDone = direction(s, !c2s).state == DirectionState::Done;
      // With the other direction done too, closing the socket sends this FIN (its receive queue
      // is empty: we read it to the end), so no shutdown() first. (shutdown stays a system
      // call: io_uring hands IORING_OP_SHUTDOWN to an io-wq thread, which costs more.)
      // Either sends what MSG_MORE held, the FIN riding in its last segment.
      if (!otherDone) io_.shutdownWrite(destinationFd(s, c2s));
      d.finSent = true;
      d.corked = false;
      enter(s, slot, d, DirectionState::Done);
      host_.rescheduleExpiry(s, slot);  // the *_fin timeouts now apply and may be shorter
      settle(s, slot);
      return;
    }
    case SourceEnd::Reset:
      flush(s, slot, c2s);
      return;
    case SourceEnd::Open:
      receive(s, slot, c2s);
      return;
  }
}

void Relay::receive(Session& s, uint32_t slot, bool c2s) {
  Direction& d = direction(s, c2s);
  if (d.splice && !d.pipe.valid()) {
    d.pipe = io_.acquirePipe();
    // No descriptors for a pipe: relay this direction by copying instead. Correctness does not
    // depend on splice, only efficiency does.
    if (!d.pipe.valid()) d.splice = false;
  }
  // Never splice while a standing receive is armed: two readers of one socket would reorder
  // its bytes. (Not reachable today: the read that marks a direction bulk fills `limit`, which
  // reaches the total and ends the standing receive. The guard keeps it so should the rules
  // change: the direction would listen until the receive ends.)
  if (d.splice && !d.standing) {
    splice(s, slot, c2s);
    return;
  }
  if (!d.standing && !d.splice && d.fullReads == 0 && io_.standingLimit() > 0) {
    io_.recvStanding(sourceFd(s, c2s), standingTag(s, slot, c2s));
    d.standing = true;
    ++s.inflight;
  }
  if (d.standing) {
    enter(s, slot, d, DirectionState::Listen);
    return;
  }
  io_.recvProvided(sourceFd(s, c2s), tag(s, slot, c2s));
  enter(s, slot, d, DirectionState::Recv);
}

void Relay::sendHeld(Session& s, uint32_t slot, bool c2s) {
  Direction& d = direction(s, c2s);
  // From a ring buffer the send must not wait (MSG_DONTWAIT): if the receiver is full, the bytes
  // move to a private buffer (onSend) rather than hold a shared buffer while waiting.
  const bool shared = d.buffer != kOwnBuffer;
  const uint8_t* bytes = shared ? io_.bufferData(d.buffer) : d.own.get();
  // With the source's end already known, these are (among) its last bytes: let TCP hold their
  // tail for the FIN (pump forwards it, or flush pushes them, once they are sent). Never
  // otherwise: an interactive exchange must not wait for a segment to fill.
  const bool more = d.finFollows || d.source == SourceEnd::Fin;
  d.corked = d.corked || more;
  io_.send(destinationFd(s, c2s), bytes + d.offset, d.length - d.offset, shared, more,
           tag(s, slot, c2s));
  enter(s, slot, d, DirectionState::Send);
}

void Relay::flush(Session& s, uint32_t slot, bool c2s) {
  Direction& d = direction(s, c2s);
  pushHeld(s, c2s);  // the end read as a FIN-to-be turned out a reset: no FIN will push them
  // The source is gone and every byte it sent is in the destination socket's kernel queue. A
  // reset now would discard what that queue still holds, so wait until the peer has taken (and
  // acknowledged) it. There is no readiness event for "send queue empty": a timer re-checks,
  // and progress counts as activity, so a peer that reads slowly is bounded by its *_fin
  // timeout like any half-closed side.
  if (drain(s, slot, c2s)) return;
  enter(s, slot, d, DirectionState::Aborted);
  settle(s, slot);
}

bool Relay::drain(Session& s, uint32_t slot, bool c2s) {
  Direction& d = direction(s, c2s);
  if (destinationFailed(s, c2s)) return false;
  const long unsent = io_.unsentBytes(destinationFd(s, c2s));
  if (unsent <= 0) {
    // Empty, or the connection is closed (-ENOTCONN: the peer reset; SIOCOUTQ would never drop
    // again) or unusable: nothing more will drain.
    if (unsent < 0) sideFailed(s, !c2s);
    return false;
  }
  if (d.unsent < 0 || unsent < d.unsent) {
    touch(s, !c2s);
    d.backoffs = 0;  // progressing: check again soon
  }
  d.unsent = static_cast<int32_t>(std::min<long>(unsent, INT32_MAX));
  waitTimer(s, slot, c2s, DirectionState::Flush);
  return true;
}

void Relay::end(Session& s, uint32_t slot, CloseReason reason) {
  if (s.state != SessionState::Relaying) return;
  if (s.pendingEnd == CloseReason::None) s.pendingEnd = reason;
  settle(s, slot);
}

void Relay::backoff(Session& s, uint32_t slot, bool c2s) {
  // Bytes held for the FIN (MSG_MORE) must not wait out the timer with us: the FIN comes only
  // after the sends still to make.
  pushHeld(s, c2s);
  waitTimer(s, slot, c2s, DirectionState::Backoff);
}

void Relay::pushHeld(Session& s, bool c2s) {
  Direction& d = direction(s, c2s);
  if (!d.corked) return;
  io_.pushPending(destinationFd(s, c2s));
  d.corked = false;
}

void Relay::waitTimer(Session& s, uint32_t slot, bool c2s, DirectionState state) {
  Direction& d = direction(s, c2s);
  io_.timer(interval(d.backoffs), tag(s, slot, c2s));
  if (d.backoffs < 255) ++d.backoffs;
  enter(s, slot, d, state);
}

void Relay::settle(Session& s, uint32_t slot) {
  const RelayOutcome outcome = relayOutcome(s);
  if (outcome == RelayOutcome::CloseClean) {
    host_.endSession(s, slot, false, CloseReason::Completed);
    return;
  }
  if (outcome == RelayOutcome::Continue && s.pendingEnd == CloseReason::None) return;
  // The session is to be reset (a side failed, or it is ended from outside). Not while a
  // direction drains, and not before a complete stream still queued toward a working peer has
  // drained too: the reset would discard it. Then reset both sides.
  if (s.c2s.state == DirectionState::Flush || s.s2c.state == DirectionState::Flush) return;
  const CloseReason reason = s.pendingEnd != CloseReason::None ? s.pendingEnd : s.failure;
  bool draining = false;
  for (const bool c2s : {true, false}) {
    if (direction(s, c2s).state == DirectionState::Done && drain(s, slot, c2s)) draining = true;
  }
  if (draining) {
    if (s.pendingEnd == CloseReason::None) s.pendingEnd = reason;
    host_.rescheduleExpiry(s, slot);  // only the draining peers' timeouts count now
    return;
  }
  host_.endSession(s, slot, true, reason == CloseReason::None ? CloseReason::Internal : reason);
}

void Relay::onCompletion(Session& s, uint32_t slot, bool c2s, const io::Completion& completion) {
  Direction& d = direction(s, c2s);
  const DirectionState was = d.state;
  if (d.probing) {
    d.probing = false;
    --probing_;
  }
  // (In Listen the only operation in flight is the standing receive, whose completions carry
  // their own tag: one of this tag there is as impossible as one in Idle.)
  if (was == DirectionState::Listen || !enter(s, slot, d, DirectionState::Idle)) {
    // No operation was in flight: a completion here means our accounting is broken. Keep the
    // buffers right at least, then end the session abortively.
    discardBuffer(completion);
    internalError(s, slot, "completion with no operation in flight");
    return;
  }
  if (s.state != SessionState::Relaying) {
    // Closing: account for what the operation still did, so nothing leaks at free time.
    discardBuffer(completion);
    if (d.recvBuffer != kNoBuffer) releaseBuffer(std::exchange(d.recvBuffer, kNoBuffer));
    return;
  }
  switch (was) {
    case DirectionState::Recv:
      onRecv(s, slot, c2s, completion);
      return;
    case DirectionState::Send:
      onSend(s, slot, c2s, completion.res);
      return;
    case DirectionState::PollIn:
    case DirectionState::PollOut:
      onPoll(s, slot, c2s, was == DirectionState::PollIn, completion.res);
      return;
    case DirectionState::Backoff:
    case DirectionState::Flush:
      pump(s, slot, c2s);  // the timer fired (or was cancelled while closing, handled above)
      return;
    case DirectionState::Idle:
    case DirectionState::Listen:  // its completions are the standing receive's (onStanding)
    case DirectionState::WaitBuffer:
    case DirectionState::Done:
    case DirectionState::Aborted:
      break;  // unreachable: enter() refused these above
  }
}

void Relay::onRecv(Session& s, uint32_t slot, bool c2s, const io::Completion& completion) {
  Direction& d = direction(s, c2s);
  uint16_t got = std::exchange(d.recvBuffer, kNoBuffer);  // a granted buffer, if any
  if (completion.hasBuffer()) got = takeBuffer(completion);
  received(s, slot, c2s, completion.res, got, io_.bufferSize());
}

void Relay::onStanding(Session& s, uint32_t slot, bool c2s, const io::Completion& completion) {
  Direction& d = direction(s, c2s);
  const uint16_t got = takeBuffer(completion);
  if (!d.standing) {
    // No standing receive was armed: our accounting is broken. Keep the buffers right at least.
    if (got != kNoBuffer) releaseBuffer(got);
    if (s.state == SessionState::Relaying) internalError(s, slot, "standing receive not armed");
    return;
  }
  if (!completion.more()) {
    d.standing = false;
    d.finFollows = false;  // the foreseen end (if any) is this completion: source says the rest
    --s.inflight;
  }
  if (d.probing) {  // (before any return: a probe left counted would shrink every later one)
    d.probing = false;
    --probing_;
  }
  if (s.state != SessionState::Relaying) {
    // Closing: account for the buffer it took, so nothing leaks at free time.
    if (got != kNoBuffer) releaseBuffer(got);
    return;
  }
  const int res = completion.res;
  if (d.state == DirectionState::Listen) {
    enter(s, slot, d, DirectionState::Idle);
    received(s, slot, c2s, res, got, io_.standingLimit());
    return;
  }
  // The direction is busy sending what an earlier completion brought (Send, or Backoff for that
  // send), or has ended (Aborted): what comes now waits behind it.
  if (res > 0) {
    overflow(s, slot, c2s, got, res);
    return;
  }
  if (got != kNoBuffer) releaseBuffer(got);
  // The standing receive ended. Its end is acted on when the held bytes are out (pump): an end of
  // stream or a failure is recorded now, so it is forwarded after them; anything else (ENOBUFS,
  // ENOMEM) only means the next receive is armed afresh.
  if (res == 0) {
    d.source = sourceFailed(s, c2s) ? SourceEnd::Reset : SourceEnd::Fin;
    host_.rescheduleExpiry(s, slot);
  } else if (res != -ENOBUFS && res != -EINTR && res != -EAGAIN && !isResourceShortage(res)) {
    sideFailed(s, c2s);
    d.source = SourceEnd::Reset;
    host_.rescheduleExpiry(s, slot);
  }
}

void Relay::foreseeEnd(Session& s, bool c2s) {
  Direction& d = direction(s, c2s);
  // (An end read after the source failed is a reset, not a FIN: nothing to hold bytes for.)
  if (s.state == SessionState::Relaying && d.standing && !sourceFailed(s, c2s)) d.finFollows = true;
}

void Relay::overflow(Session& s, uint32_t slot, bool c2s, uint16_t got, int res) {
  Direction& d = direction(s, c2s);
  touch(s, c2s);
  if (got == kNoBuffer) {
    internalError(s, slot, "standing receive completed without a buffer");
    return;
  }
  if (isTerminal(d.state) || destinationFailed(s, c2s)) {
    releaseBuffer(got);  // nobody left to deliver to (the direction is discarding)
    return;
  }
  const auto n = static_cast<uint32_t>(res);
  // Appended after what `own` already holds: the rest of the bytes being sent from it, or the
  // overflow waiting behind a ring buffer being sent.
  uint32_t& end = d.buffer == kOwnBuffer ? d.length : d.overflow;
  if (!d.own) {
    if (!d.own.allocate(io_.bufferSize())) {
      // No memory for the bytes the kernel already took from the socket: they cannot be kept,
      // so the session must not look complete to either side. Reset it.
      releaseBuffer(got);
      host_.endSession(s, slot, true, CloseReason::ResourceShortage);
      return;
    }
    stats_.add(stats::WorkerStat::PrivateBuffers);
  }
  if (end + n > d.own.size()) {
    releaseBuffer(got);
    internalError(s, slot, "standing receive exceeded its bound");
    return;
  }
  std::memcpy(d.own.get() + end, io_.bufferData(got), n);
  end += n;
  releaseBuffer(got);  // the ring buffer goes back at once: a busy direction pins none extra
  noteRead(s, d, res, io_.standingLimit());
}

void Relay::noteRead(Session& s, Direction& d, int res, unsigned full) {
  // A direction that keeps filling what it may read is a bulk transfer: it leaves the standing
  // receive for single-shot recvs of whole buffers, and under relay: auto for splice, which
  // moves it without copying through user space. Short, interactive exchanges stay on
  // recv/send, which costs fewer operations per message than splice's two.
  if (static_cast<unsigned>(res) == full) {
    if (d.fullReads < 255) ++d.fullReads;
  } else {
    d.fullReads = 0;
  }
  if (s.snapshot->config->backends[s.backend].relay == config::RelayMode::Auto && !d.noSplice &&
      d.fullReads >= options_.autoSpliceAfter) {
    d.splice = true;
  }
}

uint16_t Relay::takeBuffer(const io::Completion& completion) {
  if (!completion.hasBuffer()) return kNoBuffer;
  io_.bufferTaken(completion.bufferId());
  return completion.bufferId();
}

void Relay::discardBuffer(const io::Completion& completion) {
  const uint16_t got = takeBuffer(completion);
  if (got != kNoBuffer) releaseBuffer(got);
}

void Relay::internalError(Session& s, uint32_t slot, const char* what) {
  spdlog::error("session {}: {}; closing it", slot, what);
  host_.endSession(s, slot, true, CloseReason::Internal);
}

void Relay::received(Session& s, uint32_t slot, bool c2s, int res, uint16_t got, unsigned full) {
  Direction& d = direction(s, c2s);
  if (res > 0) {
    if (got == kNoBuffer) {
      internalError(s, slot, "receive completed without a buffer");
      return;
    }
    d.buffer = got;
    d.offset = 0;
    d.length = static_cast<uint32_t>(res);
    touch(s, c2s);
    noteRead(s, d, res, full);
    pump(s, slot, c2s);
    return;
  }
  // Kernels before 6.x may attach a consumed buffer to an EOF or error completion: give it back,
  // or the ring slowly runs dry.
  if (got != kNoBuffer) releaseBuffer(got);
  if (res == 0) {
    d.source = sourceFailed(s, c2s) ? SourceEnd::Reset : SourceEnd::Fin;
    host_.rescheduleExpiry(s, slot);  // the side is half-closed: its *_fin timeout applies
    pump(s, slot, c2s);
  } else if (res == -ENOBUFS) {
    waitForBuffer(s, slot, c2s);
  } else if (res == -EINTR || res == -EAGAIN) {
    pump(s, slot, c2s);
  } else if (res == -ENOMEM) {
    backoff(s, slot, c2s);
  } else {
    // ECONNRESET and other errors: the source failed. What it sent before is delivered (there
    // is nothing held now: one operation per direction), then the destination is reset.
    sideFailed(s, c2s);
    d.source = SourceEnd::Reset;
    host_.rescheduleExpiry(s, slot);
    pump(s, slot, c2s);
  }
}

void Relay::waitForBuffer(Session& s, uint32_t slot, bool c2s) {
  Direction& d = direction(s, c2s);
  if (waiters_.empty() && io_.buffersInRing() > probing_) {
    // A buffer came back to the ring after the kernel ran out for this recv (earlier in this
    // batch of completions): try again rather than wait for a release that may never come. One
    // direction per such buffer: the rest wait in line, or every ENOBUFS of the batch would
    // retry and the ring would become a lottery that some lose for ever (they would not even
    // count as waiting).
    ++probing_;
    d.probing = true;
    pump(s, slot, c2s);
    return;
  }
  if (!io_.isReadable(sourceFd(s, c2s))) {
    // The kernel answers ENOBUFS at once when the ring is empty, even on a socket with nothing
    // to read. Such a direction must not queue for a buffer (a lent buffer would sit idle in
    // its recv while directions with bytes wait): it waits for bytes first, then tries again.
    io_.poll(sourceFd(s, c2s), POLLIN, tag(s, slot, c2s));
    enter(s, slot, d, DirectionState::PollIn);
    return;
  }
  // Every buffer holds bytes for a peer that has not taken them yet. Back-pressure, not an
  // error: wait in line. The next buffer returned goes to the first in line (releaseBuffer), one
  // waiter per buffer: no stampede, no waiter overtaken forever.
  enter(s, slot, d, DirectionState::WaitBuffer);
  waiters_.push_back(Waiter{slot, s.generation, c2s});
}

void Relay::releaseBuffer(uint16_t id) {
  while (!waiters_.empty()) {
    const Waiter w = waiters_.front();
    waiters_.pop_front();
    Session& s = host_.session(w.slot);
    if (s.generation != w.generation || s.state != SessionState::Relaying) continue;
    Direction& d = direction(s, w.c2s);
    if (d.state != DirectionState::WaitBuffer) continue;
    // Lend the buffer to this direction's recv directly: the kernel's ring never sees it, so no
    // other recv can take it first. Its source was readable when it queued, and the recv does not
    // wait: should nothing be queued after all, -EAGAIN passes the buffer on to the next in line
    // (onRecv). The time spent in line was ours, not the peer's idleness.
    d.recvBuffer = id;
    io_.recvInto(sourceFd(s, w.c2s), io_.bufferData(id), io_.bufferSize(), tag(s, w.slot, w.c2s));
    enter(s, w.slot, d, DirectionState::Recv);
    // Neither peer was idle while we had no buffer: the source had bytes, the destination was
    // waiting for them.
    touch(s, true);
    touch(s, false);
    return;
  }
  io_.recycleBuffer(id);
}

void Relay::onSend(Session& s, uint32_t slot, bool c2s, int res) {
  Direction& d = direction(s, c2s);
  if (res > 0) {
    d.offset += static_cast<uint32_t>(res);
    delivered(s, c2s, static_cast<uint64_t>(res));
  } else if (isResourceShortage(res)) {
    backoff(s, slot, c2s);
    return;
  } else if (res != 0 && res != -EINTR && res != -EAGAIN) {
    sideFailed(s, !c2s);  // EPIPE/ECONNRESET: the receiver is gone
    pump(s, slot, c2s);
    return;
  }
  d.backoffs = 0;
  if (d.offset == d.length) {
    // Everything sent: the buffer goes back (a private one is unmapped: memory follows bytes in
    // flight, the slow moment is over), unless overflow is waiting in it.
    sent(d);
  } else if (d.buffer != kOwnBuffer) {
    // A short send, or EAGAIN (sends from ring buffers never wait): the receiver's socket buffer
    // is full, so it reads slower than we receive. Move the rest into a private buffer and give
    // the ring buffer back at once: a slow reader must not pin shared buffers, or it would park
    // every other session of this worker on ENOBUFS.
    if (!d.own) {
      if (!d.own.allocate(io_.bufferSize())) {
        backoff(s, slot, c2s);  // no memory for it now: keep the ring buffer a little longer
        return;
      }
      stats_.add(stats::WorkerStat::PrivateBuffers);
    }
    // Overflow a standing receive queued sits at the start of `own`: the rest goes before it.
    // (Both come from one arming, so together they fit: see Relay.h.)
    const uint32_t rest = d.length - d.offset;
    std::memmove(d.own.get() + rest, d.own.get(), d.overflow);
    std::memcpy(d.own.get(), io_.bufferData(d.buffer) + d.offset, rest);
    const uint16_t id = std::exchange(d.buffer, kOwnBuffer);
    d.offset = 0;
    d.length = rest + std::exchange(d.overflow, 0);
    releaseBuffer(id);
  }
  pump(s, slot, c2s);
}

void Relay::splice(Session& s, uint32_t slot, bool c2s) {
  Direction& d = direction(s, c2s);
  const int in = sourceFd(s, c2s);
  const int out = destinationFd(s, c2s);
  const auto wait = [&](int fd, unsigned events, DirectionState state) {
    io_.poll(fd, events, tag(s, slot, c2s));
    enter(s, slot, d, state);
  };
  // Move pipe-fulls while both sockets allow it, then wait for whichever side would block.
  // Bounded, so that one fast bulk transfer cannot hold the worker from its other sessions:
  // after the budget the direction waits on a poll that completes at once in the next turn.
  for (int call = 0; call < options_.spliceCallsPerTurn; ++call) {
    if (d.pipePending > 0) {
      const long n = io_.splice(d.pipe.read, out, d.pipePending);
      if (n > 0) {
        d.pipePending -= static_cast<uint32_t>(n);
        delivered(s, c2s, static_cast<uint64_t>(n));
        continue;
      }
      if (n == -EAGAIN) {
        // The receiver's socket buffer is full (slow reader): wait for room rather than spin.
        wait(out, POLLOUT, DirectionState::PollOut);
        return;
      }
      if (n == -EINTR) continue;
      if (isResourceShortage(static_cast<int>(n))) {
        backoff(s, slot, c2s);
        return;
      }
      // EPIPE/ECONNRESET: the receiver is gone. (0 with bytes in the pipe is not something TCP
      // answers; were it to, waiting for POLLOUT would spin, so it counts as a failure too.)
      sideFailed(s, !c2s);
      pump(s, slot, c2s);
      return;
    }
    if (d.source != SourceEnd::Open) {
      pump(s, slot, c2s);  // the pipe is drained: forward the end of stream
      return;
    }
    const long n = io_.splice(in, d.pipe.write, d.pipe.capacity);
    const bool pollSaidReadable = d.readable;
    d.readable = false;
    if (n > 0) {
      d.pipePending = static_cast<uint32_t>(n);
      touch(s, c2s);
      continue;
    }
    if (n == 0 && !io_.hasPendingData(in)) {
      d.source = sourceFailed(s, c2s) ? SourceEnd::Reset : SourceEnd::Fin;
      host_.rescheduleExpiry(s, slot);  // the side is half-closed: its *_fin timeout applies
      continue;
    }
    if (n == -EAGAIN && !pollSaidReadable) {
      wait(in, POLLIN, DirectionState::PollIn);
      return;
    }
    if (n == 0 || n == -EAGAIN) {
      // End of stream reported while bytes are still queued (0), or nothing to move although the
      // poll said readable (EAGAIN): TCP urgent data. splice stops at the urgent mark and never
      // steps over it (recv does), so retrying would spin, and taking the 0 for EOF would drop
      // the rest of the stream. Relay this direction by copying from now on; the pipe is empty
      // here and goes back to the pool.
      io_.releasePipe(d.pipe, true);
      d.pipe = io::Pipe{};
      d.splice = false;
      d.fullReads = 0;
      d.noSplice = true;
      pump(s, slot, c2s);
      return;
    }
    if (n == -EINTR) continue;
    if (isResourceShortage(static_cast<int>(n))) {
      backoff(s, slot, c2s);
      return;
    }
    // ECONNRESET and other errors: the source failed (the pipe is empty: nothing is held).
    sideFailed(s, c2s);
    d.source = SourceEnd::Reset;
    host_.rescheduleExpiry(s, slot);
    pump(s, slot, c2s);
    return;
  }
  if (d.pipePending > 0) {
    wait(out, POLLOUT, DirectionState::PollOut);
  } else if (d.source != SourceEnd::Open) {
    pump(s, slot, c2s);  // the end of stream met on the last call: forward it now
  } else {
    wait(in, POLLIN, DirectionState::PollIn);
  }
}

void Relay::onPoll(Session& s, uint32_t slot, bool c2s, bool wasPollIn, int res) {
  Direction& d = direction(s, c2s);
  if (res < 0) {
    // Not a socket error (those come back as a ready mask, and splice reports them): the poll
    // itself failed. Rare; count the polled side as failed rather than risk polling in a loop.
    sideFailed(s, wasPollIn ? c2s : !c2s);
    if (wasPollIn) d.source = SourceEnd::Reset;
    pump(s, slot, c2s);
    return;
  }
  // (Only splice reads this flag; a copy-mode poll must not leave it set for a later switch.)
  d.readable = d.splice && (res & POLLIN) != 0 && d.pipePending == 0;
  pump(s, slot, c2s);
}

void Relay::sideFailed(Session& s, bool client) {
  bool& failed = client ? s.clientFailed : s.serverFailed;
  failed = true;
  if (s.failure == CloseReason::None) {
    s.failure = client ? CloseReason::ClientReset : CloseReason::ServerReset;
  }
}

void Relay::sent(Direction& d) {
  if (d.buffer != kOwnBuffer && d.buffer != kNoBuffer) releaseBuffer(d.buffer);
  d.buffer = kNoBuffer;
  d.offset = d.length = 0;
  if (d.overflow == 0) d.own.release();  // (pump() makes waiting overflow the held bytes)
}

void Relay::discard(Direction& d) {
  if (d.buffer != kOwnBuffer && d.buffer != kNoBuffer) releaseBuffer(d.buffer);
  d.own.release();
  d.buffer = kNoBuffer;
  d.offset = d.length = d.overflow = 0;
  // (Bytes left in the pipe make it unfit for reuse; releaseHeld() closes it at free time.)
}

void Relay::releaseHeld(Session& s) {
  for (Direction* d : {&s.c2s, &s.s2c}) {
    discard(*d);
    if (d->recvBuffer != kNoBuffer) releaseBuffer(std::exchange(d->recvBuffer, kNoBuffer));
    io_.releasePipe(d->pipe, d->pipePending == 0);
    d->pipe = io::Pipe{};
    d->pipePending = 0;
  }
}

void Relay::delivered(Session& s, bool c2s, uint64_t n) {
  direction(s, c2s).bytes += n;
  turnBytes_ += n;
  // Counted as they are delivered, so a rate query sees a long transfer while it runs, and the
  // totals equal what crossed the sockets once the sessions closed.
  stats_.add(s.frontendSlot, c2s ? stats::FrontendStat::BytesIn : stats::FrontendStat::BytesOut, n);
  stats_.add(s.serverSlot, c2s ? stats::ServerStat::BytesIn : stats::ServerStat::BytesOut, n);
  touch(s, !c2s);
}

void Relay::touch(Session& s, bool client) {
  (client ? s.clientActive : s.serverActive) = now_;
}

const char* toString(CloseReason reason) {
  switch (reason) {
    case CloseReason::None: return "none";
    case CloseReason::Completed: return "completed";
    case CloseReason::ClientReset: return "client_reset";
    case CloseReason::ServerReset: return "server_reset";
    case CloseReason::ClientTimeout: return "client_timeout";
    case CloseReason::ServerTimeout: return "server_timeout";
    case CloseReason::NoServer: return "no_server";
    case CloseReason::ConnectFailed: return "connect_failed";
    case CloseReason::ResourceShortage: return "resource_shortage";
    case CloseReason::Shutdown: return "shutdown";
    case CloseReason::ServerShutdown: return "server_shutdown";
    case CloseReason::AdminKill: return "admin_kill";
    case CloseReason::Internal: return "internal";
  }
  return "unknown";
}

}  // namespace ringlb::proxy
