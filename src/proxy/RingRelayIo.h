#pragma once
// RelayIo over the worker's real kernel objects: its io_uring, provided-buffer ring and pipe
// pool. Private to the worker (src/proxy); the relay only sees the interface.
#include <sys/socket.h>
#include <unistd.h>

#include "ringlb/io/BufferRing.h"
#include "ringlb/io/PipePool.h"
#include "ringlb/io/Ring.h"
#include "ringlb/net/Socket.h"
#include "ringlb/proxy/RelayIo.h"
#include "ringlb/proxy/Snapshot.h"

namespace ringlb::proxy {

class RingRelayIo final : public RelayIo {
 public:
  // `standing`: use standing receives where the kernel can bound them.
  RingRelayIo(io::Ring& ring, io::BufferRing& buffers, io::PipePool& pipes,
              SharedCounters& counters, bool standing)
      : ring_(ring),
        buffers_(buffers),
        pipes_(pipes),
        counters_(counters),
        standingLimit_(standing && ring.features().cappedRecv ? buffers.bufferSize() / 2 : 0) {}

  void recvProvided(int fd, uint64_t tag) override {
    ring_.recvProvided(fd, buffers_.group(), tag);
  }
  void recvStanding(int fd, uint64_t tag) override {
    ring_.recvStanding(fd, buffers_.group(), standingLimit_, tag);
  }
  unsigned standingLimit() const override { return standingLimit_; }
  void recvInto(int fd, uint8_t* data, unsigned len, uint64_t tag) override {
    ring_.recv(fd, data, len, true, tag);
  }
  void send(int fd, const uint8_t* data, std::size_t len, bool noWait, bool more,
            uint64_t tag) override {
    ring_.send(fd, data, len, noWait, more, tag);
  }
  void poll(int fd, unsigned events, uint64_t tag) override { ring_.poll(fd, events, tag); }
  void timer(std::chrono::milliseconds after, uint64_t tag) override { ring_.timeout(after, tag); }

  long splice(int in, int out, unsigned len) override { return io::spliceNow(in, out, len); }
  bool hasPendingData(int fd) override { return net::hasPendingData(fd); }
  bool isReadable(int fd) override { return net::isReadable(fd); }
  long unsentBytes(int fd) override { return net::unsentBytes(fd); }
  void shutdownWrite(int fd) override { ::shutdown(fd, SHUT_WR); }
  void pushPending(int fd) override { net::pushPending(fd); }

  unsigned bufferSize() const override { return buffers_.bufferSize(); }
  uint8_t* bufferData(uint16_t id) override { return buffers_.data(id); }
  unsigned buffersInRing() const override { return buffers_.available(); }
  void bufferTaken(uint16_t) override { buffers_.taken(); }
  void recycleBuffer(uint16_t id) override { buffers_.recycle(id); }

  io::Pipe acquirePipe() override {
    if (!pipeAffordable(counters_)) return io::Pipe{};
    io::Pipe pipe = pipes_.acquire();
    if (pipe.valid()) counters_.pipesInUse.fetch_add(1, std::memory_order_relaxed);
    return pipe;
  }
  void releasePipe(io::Pipe pipe, bool empty) override {
    if (pipe.valid()) counters_.pipesInUse.fetch_sub(1, std::memory_order_relaxed);
    pipes_.release(pipe, empty);
  }

 private:
  io::Ring& ring_;
  io::BufferRing& buffers_;
  io::PipePool& pipes_;
  SharedCounters& counters_;
  unsigned standingLimit_;
};

}  // namespace ringlb::proxy
