#include "ringlb/log/LineRing.h"

#include <cassert>
#include <cstring>

namespace ringlb::log {

// new char[n], not make_unique<char[]>(n): the latter zeroes the buffer, touching every page of
// every worker's ring at start for nothing.
LineRing::LineRing(std::size_t capacityBytes)
    : capacity_(capacityBytes), buffer_(new char[capacityBytes]) {
  assert(capacityBytes > 0);
}

bool LineRing::push(std::string_view line) {
  if (line.empty()) return true;
  const std::size_t length = line.size();
  uint64_t head = head_.load(std::memory_order_relaxed);  // only this thread writes it
  const std::size_t offset = static_cast<std::size_t>(head % capacity_);
  const std::size_t untilEnd = capacity_ - offset;
  // A push that does not fit before the end also uses up the rest of the buffer (the gap).
  const bool wraps = length > untilEnd;
  const uint64_t needed = wraps ? uint64_t{untilEnd} + length : length;
  if (length > capacity_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (head + needed - cachedTail_ > capacity_) {
    // Acquire: the consumer's reads of the space it gave back happen before we overwrite it.
    cachedTail_ = tail_.load(std::memory_order_acquire);
    if (head + needed - cachedTail_ > capacity_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  }
  if (wraps) {
    gapAt_ = head;
    head += untilEnd;
  }
  std::memcpy(buffer_.get() + head % capacity_, line.data(), length);
  // Release: the bytes (and gapAt_) are visible before the consumer sees the new head.
  head_.store(head + length, std::memory_order_release);
  return true;
}

LineRing::Chunk LineRing::chunkAt(uint64_t tail, uint64_t head) const {
  const uint64_t lapEnd = (tail / capacity_ + 1) * capacity_;
  if (head <= lapEnd) return Chunk{head, head};
  // The producer went on at the buffer's start. What it stored before that ends at this lap's
  // gap, if it left one here (a gapAt_ from an earlier lap lies before `tail`), else at the end.
  // gapAt_ is safe to read: head > lapEnd was published after any gap in this lap was recorded,
  // and a gap in a later lap needs space this consumer has not freed yet.
  const uint64_t end = gapAt_ >= tail && gapAt_ < lapEnd ? gapAt_ : lapEnd;
  return Chunk{end, lapEnd};
}

}  // namespace ringlb::log
