#pragma once
// How many completions a worker's next wait asks the kernel for (io::Ring::wait's `batch`). A
// wait for more than one lets the kernel hold the first completions back for up to the ring's
// batch wait (min_wait_usec, 50 us by default) until that many are there, so the worker wakes
// once per batch instead of once per completion. Two signs of load ask for it:
//   - many completions in the last turn: expect about as many again (adaptive, like NAPI's
//     interrupt moderation); an idle or lightly loaded worker waits for one and adds no latency;
//   - bulk data in the last turn (at least bulkTurnBytes delivered): a transfer that keeps a
//     worker busy with few operations (splice moves a pipe-full per call). Waking per chunk
//     costs the *sending* CPU a cross-CPU wake-up each time, and on a loaded machine that CPU is
//     the bottleneck; waiting a moment lets the next chunk grow instead (docs/performance.md:
//     1 MB responses +5-8 % req/s). Interactive sessions sharing the worker pay at most the
//     batch wait per turn while bulk data flows. A bulk direction whose splice budget ran out
//     ends its turn on a poll that completes at once; the worker still sleeps up to the batch
//     wait on it, which is the point: the next turn's splices find more queued.
// Pure: unit-tested without a ring.
#include <cstddef>
#include <cstdint>

namespace ringlb::proxy {

struct WaitPolicy {
  std::size_t busyCompletions = 8;      // completions in the last turn that count as busy
  std::size_t maxBatch = 64;            // never ask for more than this many (bulk included)
  uint64_t bulkTurnBytes = 64 * 1024;   // bytes delivered in the last turn that count as bulk

  // Completions to wait for, given what the last turn reaped and delivered. At least 1.
  unsigned expect(std::size_t lastCompletions, uint64_t lastTurnBytes) const;
};

}  // namespace ringlb::proxy
