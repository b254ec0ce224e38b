#pragma once
// A bounded single-producer single-consumer byte ring for whole lines: a worker pushes the
// access log lines it formats, the writer thread drains them (log/AccessLogWriter.h). Lock-free
// and wait-free on both sides, and no allocation after construction, so the worker's push costs
// a copy and two atomic operations and can never block.
//
// Threads: exactly one producer thread calls push(), exactly one consumer thread calls drain();
// they may be different threads and run concurrently. dropped() and capacity() may be called
// from any thread. Not movable (the threads hold references to it).
//
// Layout. head_ and tail_ are byte positions that only grow (64 bits: they never wrap in
// practice); a position p lives at buffer_[p % capacity]. A push is stored contiguously: one
// that does not fit before the end of the buffer leaves the rest of the buffer as a gap and is
// stored at its start. So the ring never splits a push, and drain() hands the consumer
// contiguous chunks of whole pushes, at most two per call (before and after the wrap). The gap
// counts as used space until the consumer passes it: a push that wraps needs its length plus
// the bytes left before the end free, and one longer than the capacity can never be stored.
//
// What a "line" is is the caller's business: the ring stores each push's bytes as they are,
// adds nothing and checks nothing. The access log pushes one '\n'-terminated line per push.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace ringlb::log {

class LineRing {
 public:
  // Allocates the buffer (untouched: the kernel backs pages only as lines reach them).
  // Precondition: capacityBytes > 0.
  explicit LineRing(std::size_t capacityBytes);
  LineRing(const LineRing&) = delete;
  LineRing& operator=(const LineRing&) = delete;

  // Producer. Stores all of `line` or nothing: false when it does not fit (the consumer is
  // behind, or the line is longer than the capacity), and then the line counts as dropped.
  // An empty line is stored as nothing and returns true.
  bool push(std::string_view line);

  // Consumer. Calls sink(std::string_view chunk) with the bytes pushed so far that no earlier
  // drain delivered, oldest first, as at most two chunks; each chunk is one or more whole
  // pushes, never part of one. A chunk's bytes are valid only during its sink call; their space
  // goes back to the producer when the call returns. Returns the number of bytes delivered
  // (gaps not counted). The sink must not call push() or drain() on this ring.
  template <class Sink>
  std::size_t drain(Sink&& sink);

  // Lines push() refused, since construction. Relaxed: a count for metrics, not a fence.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return capacity_; }

 private:
  // The readable chunk starting at position `tail` given the published `head`: where it ends,
  // and where the consumer's next chunk starts (past a gap, if the chunk ends at one).
  struct Chunk {
    uint64_t end;
    uint64_t next;
  };
  Chunk chunkAt(uint64_t tail, uint64_t head) const;

  // Written by the consumer only.
  alignas(64) std::atomic<uint64_t> tail_{0};

  // Written by the producer only. gapAt_ is the position of the last gap (where a push that did
  // not fit before the buffer's end left the rest of it unused); plain, because it is written
  // before the release store of head_ that publishes the wrapped push and read after the
  // consumer's acquire load of it. The producer cannot overwrite it while the consumer still
  // needs it: a later gap needs space the consumer frees only once past this one.
  alignas(64) std::atomic<uint64_t> head_{0};
  uint64_t cachedTail_ = 0;  // the producer's last look at tail_, to skip most acquire loads
  uint64_t gapAt_ = UINT64_MAX;
  std::atomic<uint64_t> dropped_{0};

  // Immutable after construction.
  alignas(64) const std::size_t capacity_;
  const std::unique_ptr<char[]> buffer_;
};

template <class Sink>
std::size_t LineRing::drain(Sink&& sink) {
  uint64_t tail = tail_.load(std::memory_order_relaxed);  // only this thread writes it
  const uint64_t head = head_.load(std::memory_order_acquire);
  std::size_t delivered = 0;
  // Two rounds at most: the chunk before the wrap, then the one after it. Lines pushed during
  // the drain wait for the next call, so one call is bounded by the capacity.
  for (int round = 0; round < 2 && tail != head; ++round) {
    const Chunk chunk = chunkAt(tail, head);
    if (chunk.end != tail) {
      const std::size_t length = static_cast<std::size_t>(chunk.end - tail);
      sink(std::string_view(buffer_.get() + tail % capacity_, length));
      delivered += length;
    }
    tail = chunk.next;
    // Release: the sink's reads of the chunk happen before the producer may overwrite it.
    tail_.store(tail, std::memory_order_release);
  }
  return delivered;
}

}  // namespace ringlb::log
