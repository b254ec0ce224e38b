// Relaying: each direction loops receive -> send (copy, through a provided buffer) or
// splice-in -> splice-out (through a pooled pipe) with exactly one operation in flight. Bytes are
// therefore forwarded in order, once, and a direction never holds more than one buffer or one
// pipe of data: a slow reader throttles its writer through TCP flow control instead of growing
// our memory.
#include <spdlog/spdlog.h>
#include <poll.h>
#include <sys/socket.h>

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
  if (s.state != SessionState::Relaying || d.phase != Phase::Idle) return;
  const uint64_t ud = tag(c2s ? Op::ClientToServer : Op::ServerToClient, slot);
  if (d.buffer != kNoBuffer) {
    // From a ring buffer the send must not wait (MSG_DONTWAIT): if the receiver is full, the
    // bytes move to the private buffer (onSend) rather than hold a shared buffer while waiting.
    const bool shared = d.buffer != kOwnBuffer;
    const uint8_t* bytes = shared ? buffers_->data(d.buffer) : d.own.get();
    ring_->send(to(s, c2s), bytes + d.offset, d.length - d.offset, shared, ud);
    d.phase = Phase::Send;
  } else if (d.pipePending > 0) {
    splice(s, slot, c2s);  // drain the pipe before anything else, a FIN included
    return;
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
    if (d.own) {
      ring_->recv(from(s, c2s), d.own.get(), buffers_->bufferSize(), ud);
    } else {
      ring_->recvProvided(from(s, c2s), buffers_->group(), ud);
    }
    d.phase = Phase::Recv;
  }
  ++s.inflight;
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
    if (completion.hasBuffer()) {
      buffers_->taken();
      d.buffer = completion.bufferId();
    } else {
      d.buffer = kOwnBuffer;  // a plain recv into the direction's private buffer
    }
    d.offset = 0;
    d.length = static_cast<uint32_t>(res);
    touch(s, from(s, c2s));
    // relay: auto. A direction that keeps filling whole buffers is a bulk transfer: splice moves
    // it without copying through user space. Short, interactive exchanges stay on recv/send,
    // which costs fewer operations per message than splice's two.
    if (static_cast<unsigned>(res) == buffers_->bufferSize()) {
      if (d.fullReads < 255) ++d.fullReads;
    } else {
      d.fullReads = 0;
    }
    if (s.snapshot->config->backends[s.backend].relay == config::RelayMode::Auto && !d.noSplice &&
        d.fullReads >= options_.autoSpliceAfter) {
      d.splice = true;
    }
    pump(s, slot, c2s);
    return;
  }
  if (res == 0) {
    d.eof = true;
    scheduleExpiry(s, slot);  // the side is half-closed: its *_fin timeout applies from now
    pump(s, slot, c2s);
    return;
  }
  if (res == -ENOBUFS) {
    // Every buffer is holding bytes for a peer that has not taken them yet. Back-pressure, not
    // an error: park until a buffer comes back (releaseBuffer wakes us).
    d.phase = Phase::WaitBuffer;
    bufferWaiters_.push_back(BufferWaiter{slot, s.generation, c2s});
    // A buffer may have come back earlier in this same batch of completions, before we were
    // parked to hear about it: look now, or this direction could wait for a release that never
    // comes.
    wakeBufferWaiters();
    return;
  }
  if (res == -EINTR || res == -EAGAIN) {
    pump(s, slot, c2s);
    return;
  }
  ++stats_.resets;
  close(s, slot, true);  // ECONNRESET and other errors: propagate as a reset
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
    // private buffer and give the ring buffer back at once: a slow reader must not pin shared
    // buffers, or it would park every other session of this worker on ENOBUFS. The direction
    // receives privately from now on.
    if (!d.own) d.own = std::make_unique<uint8_t[]>(buffers_->bufferSize());
    const uint32_t rest = d.length - d.offset;
    std::memcpy(d.own.get(), buffers_->data(d.buffer) + d.offset, rest);
    const uint16_t id = d.buffer;
    d.buffer = kOwnBuffer;
    d.offset = 0;
    d.length = rest;
    releaseBuffer(id);
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
