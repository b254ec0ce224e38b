// Relaying: each direction loops receive -> send (copy, through a provided buffer) or
// splice-in -> splice-out (through a pooled pipe) with exactly one operation in flight. Bytes are
// therefore forwarded in order, once, and a direction never holds more than one buffer or one
// pipe of data: a slow reader throttles its writer through TCP flow control instead of growing
// our memory.
#include <spdlog/spdlog.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ringlb/net/Socket.h"
#include "ringlb/proxy/Worker.h"

namespace ringlb::proxy {

void Worker::startRelay(Session& s, uint32_t slot) {
  transition(s, slot, SessionState::Relaying);
  const config::RelayMode mode = s.snapshot->config->backends[s.backend].relay;
  s.c2s.splice = s.s2c.splice = (mode == config::RelayMode::Splice);
  pump(s, slot, true);
  pump(s, slot, false);
}

void Worker::pump(Session& s, uint32_t slot, bool c2s) {
  Direction& d = direction(s, c2s);
  if (s.state != SessionState::Relaying) return;
  stopStandingRecv(s, slot, c2s);
  if (d.phase != Phase::Idle) return;
  const uint64_t ud = tag(c2s ? Op::ClientToServer : Op::ServerToClient, slot);
  if (d.buffer == kNoBuffer && !d.queued.empty()) {
    // The next chunk the standing recv delivered, in the order it arrived.
    d.buffer = d.queued.front().buffer;
    d.offset = 0;
    d.length = d.queued.front().length;
    d.queued.erase(d.queued.begin());
  } else if (d.buffer == kNoBuffer && !d.overflow.empty()) {
    // Private mode: `own` is sent; the bytes that arrived meanwhile are next.
    d.own.swap(d.overflow);
    d.overflow.clear();
    d.buffer = kOwnBuffer;
    d.offset = 0;
    d.length = static_cast<uint32_t>(d.own.size());
  }
  if (d.buffer != kNoBuffer) {
    // From a ring buffer the send must not wait (MSG_DONTWAIT): if the receiver is full, the
    // bytes move to the private buffer (onSend) rather than hold a shared buffer while waiting.
    const bool shared = d.buffer != kOwnBuffer;
    const uint8_t* bytes = shared ? buffers_->data(d.buffer) : d.own.data();
    ring_->send(to(s, c2s), bytes + d.offset, d.length - d.offset, shared, ud);
    d.phase = Phase::Send;
  } else if (d.pipePending > 0) {
    splice(s, slot, c2s);  // drain the pipe before anything else, a FIN included
    return;
  } else if (d.armed) {
    return;  // the standing recv delivers the next chunk, or the end of the stream
  } else if (d.eof) {
    // Everything the source sent before its FIN is delivered: forward the FIN.
    d.phase = Phase::Done;
    if (direction(s, !c2s).phase == Phase::Done) {
      // Both directions finished: the normal end of a session. Closing the socket sends this
      // FIN (its receive queue is empty: we read it to the end), so no shutdown() first.
      close(s, slot, false);
    } else {
      // Half-close: the opposite direction keeps flowing. (shutdown stays a system call:
      // io_uring hands IORING_OP_SHUTDOWN to an io-wq thread, which costs more.)
      ::shutdown(to(s, c2s), SHUT_WR);
      scheduleExpiry(s, slot);  // the *_fin timeouts now apply and may be shorter
    }
    return;
  } else {
    if (d.splice && !d.pipe.valid()) {
      d.pipe = pipes_.acquire();
      if (!d.pipe.valid()) {
        // No descriptors for a pipe: relay this direction by copying instead. Correctness does
        // not depend on splice, only efficiency does.
        d.splice = false;
      }
    }
    if (d.splice) {
      splice(s, slot, c2s);
      return;
    }
    if (!d.own.empty()) {
      if (d.own.size() < buffers_->bufferSize()) d.own.resize(buffers_->bufferSize());
      ring_->recv(from(s, c2s), d.own.data(), buffers_->bufferSize(), ud);
    } else if (options_.multishotRecv && ring_->features().multishotRecv) {
      // A standing recv: armed once, it delivers every chunk as it arrives, without a poll to
      // arm and a failing first attempt per chunk. It is not the direction's one operation
      // (phase stays Idle), so sends proceed while it stays armed.
      ring_->recvMultishot(from(s, c2s), buffers_->group(), standingTag(c2s, slot));
      d.armed = true;
      d.disarming = false;
      ++s.inflight;
      return;
    } else {
      ring_->recvProvided(from(s, c2s), buffers_->group(), ud);
    }
    d.phase = Phase::Recv;
  }
  ++s.inflight;
}

void Worker::stopStandingRecv(Session& s, uint32_t slot, bool c2s) {
  Direction& d = direction(s, c2s);
  if (!d.armed || d.disarming) return;
  // Splicing, or receiving privately after the destination proved slow, must not start while
  // the standing recv could still deliver bytes that belong before them. And chunks piling up
  // behind a slower destination must not pin more of the worker's shared buffers. Once the
  // recv's last completion is in (and the queue sent), pump() carries on accordingly.
  if (!d.splice && d.own.empty() && d.queued.size() < options_.maxQueuedChunks) return;
  ring_->cancel(standingTag(c2s, slot), tag(Op::Cancel, 0));
  d.disarming = true;
}

void Worker::onStandingRecv(Session& s, uint32_t slot, bool c2s,
                            const io::Completion& completion) {
  Direction& d = direction(s, c2s);
  const bool ended = !completion.more();
  if (ended) {
    d.armed = false;
    d.disarming = false;
    --s.inflight;
  }
  const int res = completion.res;
  if (completion.hasBuffer()) {
    buffers_->taken();
    if (s.state == SessionState::Relaying && res > 0) {
      received(s, c2s, completion.bufferId(), static_cast<uint32_t>(res));
      pump(s, slot, c2s);
      return;
    }
    releaseBuffer(completion.bufferId());  // closing, or an old kernel's buffer on EOF/error
  }
  if (s.state != SessionState::Relaying) {
    maybeFree(s, slot);
    return;
  }
  if (!ended) return;
  if (res == 0) {
    d.eof = true;
    scheduleExpiry(s, slot);  // the side is half-closed: its *_fin timeout applies from now
    pump(s, slot, c2s);       // the FIN follows the chunks still queued
    return;
  }
  recvFailed(s, slot, c2s, res);
}

void Worker::recvFailed(Session& s, uint32_t slot, bool c2s, int res) {
  const Direction& d = direction(s, c2s);
  if (res == -ENOBUFS && d.phase == Phase::Idle && d.buffer == kNoBuffer) {
    waitForBuffer(s, slot, c2s);
    return;
  }
  if (res == -ENOBUFS || res == -ECANCELED || res == -EINTR || res == -EAGAIN) {
    // Out of buffers while a send is in flight (which returns one), a standing recv cancelled
    // on our request, or interrupted: carry on; pump() arms a new recv when it is this
    // direction's turn.
    pump(s, slot, c2s);
    return;
  }
  ++stats_.resets;
  close(s, slot, true);  // ECONNRESET and other errors: propagate as a reset
}

void Worker::received(Session& s, bool c2s, uint16_t id, uint32_t length) {
  Direction& d = direction(s, c2s);
  if (!d.own.empty() && id != kOwnBuffer) {
    // Private mode, and a chunk the standing recv delivered before its cancel took effect: a
    // send from `own` may be in flight, so the bytes wait aside and the ring buffer goes back
    // at once (a slow reader pins no shared buffer).
    keepAside(d, id, length);
    releaseBuffer(id);
  } else if (d.buffer == kNoBuffer && d.queued.empty()) {
    d.buffer = id;
    d.offset = 0;
    d.length = length;
  } else {
    d.queued.push_back(Chunk{id, length});  // behind the chunk being sent
  }
  touch(s, from(s, c2s));
  // relay: auto. A direction that keeps filling whole buffers is a bulk transfer: splice moves
  // it without copying through user space. Short, interactive exchanges stay on recv/send,
  // which costs fewer operations per message than splice's two.
  if (length == buffers_->bufferSize()) {
    if (d.fullReads < 255) ++d.fullReads;
  } else {
    d.fullReads = 0;
  }
  if (s.snapshot->config->backends[s.backend].relay == config::RelayMode::Auto && !d.noSplice &&
      d.fullReads >= options_.autoSpliceAfter) {
    d.splice = true;
  }
}

void Worker::keepAside(Direction& d, uint16_t id, uint32_t length) {
  const uint8_t* bytes = buffers_->data(id);
  d.overflow.insert(d.overflow.end(), bytes, bytes + length);
}

void Worker::waitForBuffer(Session& s, uint32_t slot, bool c2s) {
  // Every buffer is holding bytes for a peer that has not taken them yet. Back-pressure, not
  // an error: park until a buffer comes back (releaseBuffer wakes us).
  direction(s, c2s).phase = Phase::WaitBuffer;
  bufferWaiters_.push_back(BufferWaiter{slot, s.generation, c2s});
  // A buffer may have come back earlier in this same batch of completions, before we were
  // parked to hear about it: look now, or this direction could wait for a release that never
  // comes.
  wakeBufferWaiters();
}

void Worker::onDirection(Session& s, uint32_t slot, bool c2s, const io::Completion& completion) {
  Direction& d = direction(s, c2s);
  --s.inflight;
  const Phase was = d.phase;
  d.phase = Phase::Idle;
  if (s.state != SessionState::Relaying) {
    // Closing: account for what the operation still did, so nothing leaks at free time.
    if (completion.hasBuffer()) {
      buffers_->taken();
      releaseBuffer(completion.bufferId());
    }
    maybeFree(s, slot);
    return;
  }
  switch (was) {
    case Phase::Recv:
      onRecv(s, slot, c2s, completion);
      break;
    case Phase::Send:
      onSend(s, slot, c2s, completion.res);
      break;
    case Phase::SpliceIn:
    case Phase::SpliceOut:
      onSplicePoll(s, slot, c2s, completion.res);
      break;
    case Phase::Idle:
    case Phase::WaitBuffer:
    case Phase::Done:
      // No operation was in flight: a completion here means our accounting is broken.
      spdlog::error("worker {}: completion for idle direction (slot {})", id_, slot);
      close(s, slot, true);
      break;
  }
}

void Worker::onRecv(Session& s, uint32_t slot, bool c2s, const io::Completion& completion) {
  Direction& d = direction(s, c2s);
  const int res = completion.res;
  if (res <= 0 && completion.hasBuffer()) {
    // Kernels before 6.x may attach a consumed buffer to an EOF or error completion: give it
    // back, or the ring slowly runs dry.
    buffers_->taken();
    releaseBuffer(completion.bufferId());
  }
  if (res > 0) {
    uint16_t id = kOwnBuffer;  // a plain recv into the direction's private buffer
    if (completion.hasBuffer()) {
      buffers_->taken();
      id = completion.bufferId();
    }
    received(s, c2s, id, static_cast<uint32_t>(res));
    pump(s, slot, c2s);
    return;
  }
  if (res == 0) {
    d.eof = true;
    scheduleExpiry(s, slot);  // the side is half-closed: its *_fin timeout applies from now
    pump(s, slot, c2s);
    return;
  }
  recvFailed(s, slot, c2s, res);
}

void Worker::onSend(Session& s, uint32_t slot, bool c2s, int res) {
  Direction& d = direction(s, c2s);
  if (res > 0) {
    d.offset += static_cast<uint32_t>(res);
    delivered(s, c2s, static_cast<uint64_t>(res));
  } else if (res != 0 && res != -EINTR && res != -EAGAIN) {
    ++stats_.resets;
    close(s, slot, true);  // EPIPE/ECONNRESET: the receiver is gone
    return;
  }
  if (d.offset == d.length) {
    const uint16_t id = d.buffer;
    d.buffer = kNoBuffer;
    if (id != kOwnBuffer) releaseBuffer(id);
  } else if (d.buffer != kOwnBuffer) {
    // A short send, or EAGAIN (sends from ring buffers never wait): the receiver's socket
    // buffer is full, so it reads slower than we receive. Move the rest into the direction's
    // private buffer, and the chunks queued behind it aside (see received()), and give the ring
    // buffers back at once: a slow reader must not pin shared buffers, or it would park every
    // other session of this worker on ENOBUFS. The direction receives privately from now on
    // (pump() cancels its standing recv).
    const uint32_t rest = d.length - d.offset;
    d.own.resize(std::max<std::size_t>(rest, buffers_->bufferSize()));
    std::memcpy(d.own.data(), buffers_->data(d.buffer) + d.offset, rest);
    for (const Chunk& c : d.queued) keepAside(d, c.buffer, c.length);
    // Copied everything before giving anything back: a recycled buffer may be refilled.
    const uint16_t id = d.buffer;
    d.buffer = kOwnBuffer;
    d.offset = 0;
    d.length = rest;
    std::vector<Chunk> moved;
    moved.swap(d.queued);
    releaseBuffer(id);
    for (const Chunk& c : moved) releaseBuffer(c.buffer);
  }
  pump(s, slot, c2s);
}

void Worker::splice(Session& s, uint32_t slot, bool c2s) {
  Direction& d = direction(s, c2s);
  const uint64_t ud = tag(c2s ? Op::ClientToServer : Op::ServerToClient, slot);
  const auto wait = [&](int fd, unsigned events, Phase phase) {
    ring_->poll(fd, events, ud);
    d.phase = phase;
    ++s.inflight;
  };
  // Move pipe-fulls while both sockets allow it, then wait for whichever side would block.
  // Bounded, so that one fast bulk transfer cannot hold the worker from its other sessions:
  // after kCalls splice calls (4 pipe-fulls in and out) the direction waits on a poll that
  // completes at once in the next turn.
  constexpr int kCalls = 8;
  for (int call = 0; call < kCalls; ++call) {
    if (d.pipePending > 0) {
      const long n = io::spliceNow(d.pipe.read, to(s, c2s), d.pipePending);
      if (n > 0) {
        d.pipePending -= static_cast<uint32_t>(n);
        delivered(s, c2s, static_cast<uint64_t>(n));
        continue;
      }
      if (n == -EAGAIN) {
        // The receiver's socket buffer is full (slow reader): wait for room rather than spin.
        wait(to(s, c2s), POLLOUT, Phase::SpliceOut);
        return;
      }
      if (n == -EINTR) continue;
      // EPIPE/ECONNRESET: the receiver is gone. (0 with bytes in the pipe is not something TCP
      // answers; were it to, waiting for POLLOUT would spin, so it ends the session too.)
      ++stats_.resets;
      close(s, slot, true);
      return;
    }
    if (d.eof) {
      pump(s, slot, c2s);  // the pipe is drained: forward the FIN
      return;
    }
    const long n = io::spliceNow(from(s, c2s), d.pipe.write, d.pipe.capacity);
    const bool pollSaidReadable = d.readable;
    d.readable = false;
    if (n > 0) {
      d.pipePending = static_cast<uint32_t>(n);
      touch(s, from(s, c2s));
      continue;
    }
    if (n == 0 && !net::hasPendingData(from(s, c2s))) {
      d.eof = true;
      scheduleExpiry(s, slot);  // the side is half-closed: its *_fin timeout applies from now
      continue;
    }
    if (n == -EAGAIN && !pollSaidReadable) {
      wait(from(s, c2s), POLLIN, Phase::SpliceIn);
      return;
    }
    if (n == 0 || n == -EAGAIN) {
      // End of stream reported while bytes are still queued (0), or nothing to move although
      // the poll said readable (EAGAIN): TCP urgent data. splice stops at the urgent mark and
      // never steps over it (recv does), so retrying would spin, and taking the 0 for EOF would
      // drop the rest of the stream. Relay this direction by copying from now on; the pipe is
      // empty here and goes back to the pool.
      pipes_.release(d.pipe, true);
      d.pipe = io::Pipe{};
      d.splice = false;
      d.fullReads = 0;
      d.noSplice = true;
      pump(s, slot, c2s);
      return;
    }
    if (n == -EINTR) continue;
    ++stats_.resets;
    close(s, slot, true);  // ECONNRESET and other errors: propagate as a reset
    return;
  }
  if (d.pipePending > 0) {
    wait(to(s, c2s), POLLOUT, Phase::SpliceOut);
  } else if (d.eof) {
    pump(s, slot, c2s);  // EOF met on the last call: forward the FIN now, not a turn later
  } else {
    wait(from(s, c2s), POLLIN, Phase::SpliceIn);
  }
}

void Worker::onSplicePoll(Session& s, uint32_t slot, bool c2s, int res) {
  if (res < 0) {
    // Not a socket error (those come back as a ready mask, and splice reports them): the poll
    // itself failed. Rare; end the session rather than risk re-polling in a loop.
    ++stats_.resets;
    close(s, slot, true);
    return;
  }
  Direction& d = direction(s, c2s);
  d.readable = (res & POLLIN) != 0 && d.pipePending == 0;
  pump(s, slot, c2s);
}

void Worker::releaseBuffer(uint16_t id) {
  buffers_->recycle(id);
  wakeBufferWaiters();
}

void Worker::wakeBufferWaiters() {
  while (!bufferWaiters_.empty() && buffers_->available() > 0) {
    const BufferWaiter w = bufferWaiters_.front();
    bufferWaiters_.pop_front();
    Session& s = sessions_[w.slot];
    if (s.generation != w.generation || s.state != SessionState::Relaying) continue;
    Direction& d = direction(s, w.c2s);
    if (d.phase != Phase::WaitBuffer) continue;
    d.phase = Phase::Idle;
    // Re-arm every parked direction: a recv takes a buffer only when its data arrives, so
    // most will not compete; those that lose the race park again.
    pump(s, w.slot, w.c2s);
  }
}

void Worker::delivered(Session& s, bool c2s, uint64_t n) {
  direction(s, c2s).bytes += n;
  (c2s ? stats_.bytesClientToServer : stats_.bytesServerToClient) += n;
  touch(s, to(s, c2s));
}

void Worker::touch(Session& s, int fd) {
  if (fd == s.clientFd) {
    s.clientActive = now_;
  } else {
    s.serverActive = now_;
  }
}

}  // namespace ringlb::proxy
