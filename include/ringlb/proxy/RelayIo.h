#pragma once
// The two seams of the relay (proxy/Relay.h), so that it can be driven without sockets:
//   RelayIo   - what it asks of the kernel: ring operations, direct system calls, the worker's
//               provided buffers and pipes. The worker implements it over io::Ring, BufferRing
//               and PipePool (RingRelayIo); unit tests over a fake that records every call.
//   RelayHost - what it asks of the worker: a session by slot, ending a session, rescheduling
//               a session's expiry.
// Threading: both belong to the worker thread, like the relay itself.
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "ringlb/io/PipePool.h"
#include "ringlb/proxy/Session.h"

namespace ringlb::proxy {

class RelayIo {
 public:
  virtual ~RelayIo() = default;

  // Ring operations. Each produces exactly one completion (recvStanding: one or more), carrying
  // `tag`, that the worker hands back to the relay (see io::Ring for the result conventions).
  virtual void recvProvided(int fd, uint64_t tag) = 0;
  // A standing receive from the provided buffers (io::Ring::recvStanding with
  // standingLimit()): completions with more() while it stays armed, one without when it ends.
  virtual void recvStanding(int fd, uint64_t tag) = 0;
  // The standing receive's byte limit (per completion, and the total after which it ends);
  // 0 when standing receives are not to be used (unsupported by the kernel, or turned off).
  // At most bufferSize() / 2, so what one arming receives (2 * limit - 1 bytes at most) fits in
  // one buffer.
  virtual unsigned standingLimit() const = 0;
  // A recv into `data` that never waits: -EAGAIN at once when nothing is queued.
  virtual void recvInto(int fd, uint8_t* data, unsigned len, uint64_t tag) = 0;
  // `more`: the source's FIN follows these bytes; TCP may hold their last partial segment so
  // that the FIN rides in it (io::Ring::send). Whoever sends with `more` must end the stream
  // (shutdownWrite, or close) or pushPending() soon after.
  virtual void send(int fd, const uint8_t* data, std::size_t len, bool noWait, bool more,
                    uint64_t tag) = 0;
  virtual void poll(int fd, unsigned events, uint64_t tag) = 0;
  virtual void timer(std::chrono::milliseconds after, uint64_t tag) = 0;

  // Direct, non-blocking system calls: they return at once.
  // splice(2) between a socket and a pipe: bytes moved, 0 at end of stream, or -errno.
  virtual long splice(int in, int out, unsigned len) = 0;
  // A non-blocking peek finds ordinary bytes queued (tells an EOF from an urgent mark).
  virtual bool hasPendingData(int fd) = 0;
  // A non-blocking peek finds something to read: bytes, an end of stream or an error.
  virtual bool isReadable(int fd) = 0;
  // Bytes the kernel still holds for the peer (unsent or unacknowledged); -ENOTCONN once the
  // connection is closed (the peer reset: the count would never drop again); other -errno.
  virtual long unsentBytes(int fd) = 0;
  virtual void shutdownWrite(int fd) = 0;
  // Sends what sends with `more` left queued on `fd` (net::pushPending).
  virtual void pushPending(int fd) = 0;

  // The worker's provided buffers: the ring the kernel picks from for recvProvided.
  virtual unsigned bufferSize() const = 0;
  virtual uint8_t* bufferData(uint16_t id) = 0;
  // Buffers currently in the kernel's ring (a completion may already have taken one).
  virtual unsigned buffersInRing() const = 0;
  // Bookkeeping: a completion carried buffer `id` out of the ring.
  virtual void bufferTaken(uint16_t id) = 0;
  // Puts buffer `id` back into the kernel's ring.
  virtual void recycleBuffer(uint16_t id) = 0;

  // Pipes for splice. acquirePipe returns an invalid pipe when none can be had (EMFILE...).
  // releasePipe: `empty` only if every byte written into it was read out.
  virtual io::Pipe acquirePipe() = 0;
  virtual void releasePipe(io::Pipe pipe, bool empty) = 0;
};

class RelayHost {
 public:
  virtual ~RelayHost() = default;
  // The session in `slot` (any state; the caller checks the generation).
  virtual Session& session(uint32_t slot) = 0;
  // Ends the session: abortively (RST on both sockets) if `reset`, else with FIN. May free the
  // session at once (Session is reset to Free): the caller must not touch it afterwards.
  virtual void endSession(Session& s, uint32_t slot, bool reset, CloseReason reason) = 0;
  // The session's deadline may have moved earlier (a side half-closed): re-queue its expiry.
  virtual void rescheduleExpiry(Session& s, uint32_t slot) = 0;
};

}  // namespace ringlb::proxy
