#include "ringlb/proxy/WaitPolicy.h"

#include <algorithm>

namespace ringlb::proxy {

WaitPolicy::Wait WaitPolicy::next(std::size_t lastCompletions, uint64_t lastTurnBytes) const {
  std::size_t n = lastCompletions >= busyCompletions ? lastCompletions : 1;
  const bool bulk = lastTurnBytes >= bulkTurnBytes;
  // Two is enough for bulk: the wait then ends at the hold unless another completion comes
  // first, and a lone bulk transfer has at most two operations in flight anyway.
  if (bulk) n = std::max<std::size_t>(n, 2);
  // maxBatch bounds every answer, the bulk rule's included.
  Wait wait;
  wait.batch = static_cast<unsigned>(std::clamp<std::size_t>(n, 1, std::max<std::size_t>(maxBatch, 1)));
  if (wait.batch > 1) wait.holdUsec = bulk ? std::max(bulkHoldUsec, holdUsec) : holdUsec;
  return wait;
}

}  // namespace ringlb::proxy
