#pragma once
// What workers read: an immutable Config plus what the control thread derived from it (balancers,
// server load counters, shared connection counters). Built off the data path by buildSnapshot()
// and handed to workers as a shared_ptr<const Snapshot>; a session keeps the snapshot it started
// with alive, so a future reload can swap the pointer for new connections only.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "ringlb/config/Config.h"
#include "ringlb/lb/Balancer.h"

namespace ringlb::proxy {

struct BackendRuntime {
  lb::BalancerPtr balancer;
  std::shared_ptr<lb::ServerLoad> load;  // shared by all workers
};

// Connection counts shared by all workers, for global and per-frontend max_connections.
// Relaxed atomics: a limit may be overshot by the few accepts already completed when a worker
// notices it, never by more; those are queued, not dropped (see Worker).
struct SharedCounters {
  explicit SharedCounters(std::size_t frontends) : frontendActive(frontends) {}
  std::atomic<uint64_t> active{0};
  std::vector<std::atomic<uint64_t>> frontendActive;
};

struct Snapshot {
  std::shared_ptr<const config::Config> config;
  std::vector<BackendRuntime> backends;  // parallel to config->backends
  std::shared_ptr<SharedCounters> counters;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// Builds balancers and counters for `config`.
SnapshotPtr buildSnapshot(std::shared_ptr<const config::Config> config);

}  // namespace ringlb::proxy
