#include "ringlb/stats/Counters.h"

#include <algorithm>

namespace ringlb::stats {

std::size_t connectBucket(uint64_t us) {
  const double seconds = static_cast<double>(us) / 1e6;
  const auto it = std::lower_bound(kConnectTimeBounds.begin(), kConnectTimeBounds.end(), seconds);
  return static_cast<std::size_t>(it - kConnectTimeBounds.begin());  // size() means +Inf
}

void WorkerCounters::connected(uint32_t serverSlot, uint64_t us) {
  auto& row = servers.row(serverSlot);
  row[static_cast<std::size_t>(ServerStat::Connections)].add();
  row[static_cast<std::size_t>(ServerStat::ConnectTimeUs)].add(us);
  row[static_cast<std::size_t>(ServerStat::ConnectBucket0) + connectBucket(us)].add();
}

uint32_t SlotNames::slotOf(std::string_view name) {
  const auto it = slots_.find(name);
  if (it != slots_.end()) return it->second;
  const auto slot = static_cast<uint32_t>(slots_.size());
  slots_.emplace(std::string(name), slot);
  return slot;
}

const uint32_t* SlotNames::find(std::string_view name) const {
  const auto it = slots_.find(name);
  return it == slots_.end() ? nullptr : &it->second;
}

}  // namespace ringlb::stats
