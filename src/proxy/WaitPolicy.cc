#include "ringlb/proxy/WaitPolicy.h"

#include <algorithm>

namespace ringlb::proxy {

unsigned WaitPolicy::expect(std::size_t lastCompletions, uint64_t lastTurnBytes) const {
  std::size_t n = lastCompletions >= busyCompletions ? lastCompletions : 1;
  // Two is enough for bulk: the wait then ends at the batch wait unless another completion
  // comes first, and a lone bulk transfer has at most two operations in flight anyway.
  if (lastTurnBytes >= bulkTurnBytes) n = std::max<std::size_t>(n, 2);
  // maxBatch bounds every answer, the bulk rule's included.
  return static_cast<unsigned>(std::clamp<std::size_t>(n, 1, std::max<std::size_t>(maxBatch, 1)));
}

}  // namespace ringlb::proxy
