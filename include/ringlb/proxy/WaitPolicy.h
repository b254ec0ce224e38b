#pragma once
// How a worker's next wait batches (io::Ring::wait's `batch` and `holdUsec`): how many
// completions it asks the kernel for, and how long the kernel may hold a ready one back
// (min_wait_usec) until that many are there, so the worker wakes once per batch instead of once
// per completion. Two signs of load ask for it:
//   - many completions in the last turn: expect about as many again (adaptive, like NAPI's
//     interrupt moderation); an idle or lightly loaded worker waits for one and adds no latency;
//   - bulk data in the last turn (at least bulkTurnBytes delivered): a transfer that keeps a worker
//     busy with few operations (splice moves a pipe-full per call). Waking per chunk costs the
//     *sending* CPU a cross-CPU wake-up each time, and on a loaded machine that CPU is the
//     bottleneck; waiting a moment lets the next chunk grow instead (docs/performance.md: 1 MB
//     responses +5-8 % req/s). It holds longer than a busy turn (bulkHoldUsec, 200 us, against
//     holdUsec, 50 us): each wake-up then finds more bytes queued, so fewer splices and context
//     switches move a MB (docs/performance.md, levers table: -14 to -16 % proxy CPU per MB on 1 MB
//     responses, -9 % on one 100 MiB stream). Interactive sessions sharing the worker pay at most
//     that hold per turn while bulk data flows. A bulk direction whose splice budget ran out ends
//     its turn on a poll that completes at once; the worker still sleeps up to the hold on it,
//     which is the point: the next turn's splices find more queued.
// Pure: unit-tested without a ring.
#include <cstddef>
#include <cstdint>

namespace ringlb::proxy {

struct WaitPolicy {
  std::size_t busyCompletions = 8;      // completions in the last turn that count as busy
  std::size_t maxBatch = 64;            // never ask for more than this many (bulk included)
  uint64_t bulkTurnBytes = 64 * 1024;   // bytes delivered in the last turn that count as bulk
  unsigned holdUsec = 50;               // the hold of a busy turn's batched wait; 0: none
  unsigned bulkHoldUsec = 200;          // the hold after a bulk turn; 0: none

  struct Wait {
    unsigned batch = 1;     // completions to wait for, at least 1
    unsigned holdUsec = 0;  // how long a ready completion may be held (0 when batch is 1)
  };
  // The next wait, given what the last turn reaped and delivered.
  Wait next(std::size_t lastCompletions, uint64_t lastTurnBytes) const;
};

}  // namespace ringlb::proxy
