#include "ringlb/health/SlowStart.h"

#include <algorithm>

namespace ringlb::health {

uint32_t rampWeight(uint32_t weight, std::chrono::milliseconds elapsed,
                    std::chrono::milliseconds slowStart) {
  if (weight == 0 || slowStart.count() <= 0 || elapsed >= slowStart) return weight;
  if (elapsed.count() <= 0) return 1;
  const uint64_t scaled = (uint64_t{weight} * static_cast<uint64_t>(elapsed.count()) +
                           static_cast<uint64_t>(slowStart.count()) - 1) /
                          static_cast<uint64_t>(slowStart.count());
  return static_cast<uint32_t>(std::clamp<uint64_t>(scaled, 1, weight));
}

std::chrono::milliseconds rampStep(std::chrono::milliseconds slowStart) {
  return std::max(slowStart / 10, std::chrono::milliseconds(500));
}

}  // namespace ringlb::health
