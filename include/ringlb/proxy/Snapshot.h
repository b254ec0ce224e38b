#pragma once
// What workers read: an immutable Config plus what the control thread derived from it (balancers,
// server load counters, shared connection counters). Built off the data path by buildSnapshot()
// and handed to workers as a shared_ptr<const Snapshot>; a session keeps the snapshot it started
// with alive, so a reload swaps the pointer for new connections only.
//
// Positions (frontend, backend and server indexes) are only meaningful within one snapshot.
// Whatever outlives a snapshot is keyed by identity: servers by their LiveServer record,
// frontends and backends by their counter slot (a name's, for the process's life).
#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringlb/config/Config.h"
#include "ringlb/lb/Balancer.h"

namespace ringlb::proxy {

// One group of a backend's servers with its own balancer: the primaries, or the backups
// (servers[].backup), which take connections only when no primary can (HAProxy's `backup`).
struct ServerGroup {
  lb::BalancerPtr balancer;              // over this group's servers only
  lb::ServerSet set;                      // what the balancer was built from (names, weights)
  std::shared_ptr<lb::LiveServers> live;  // the group's records, in the balancer's order
  std::vector<uint32_t> index;            // group position -> server index in the backend
};

struct BackendRuntime {
  // The balancer inputs besides the servers' (a reload reuses groups built from equal inputs).
  lb::Algorithm balance = lb::Algorithm::Rendezvous;
  uint64_t seed = 0;
  // The live state (eligibility, connection counts) of all the backend's servers, in config
  // order. Its records belong to the servers, not to this snapshot (see lb::LiveServer).
  std::shared_ptr<lb::LiveServers> live;
  ServerGroup primary;
  std::optional<ServerGroup> backup;  // none when no server is a backup
};

// A backend's candidates for one connection, as server indexes of the backend: the primaries'
// ranking; the backups' only when no primary can take it (every one ineligible, of weight 0, or
// full). `backup` may be null when the backend has no backups.
void rankServers(const BackendRuntime& runtime, lb::Picker& primary, lb::Picker* backup,
                 lb::PickInput input, std::size_t want, lb::Candidates& out);

// Frontend counter slots the process can name over its life (stats::WorkerCounters has as many
// rows); a reload that would need more fails and asks for a restart.
inline constexpr uint32_t kMaxFrontendSlots = 4096;

// Connection counts shared by all workers, for global and per-frontend max_connections. One
// object for the process's life: every snapshot points at it, so sessions of an old snapshot
// and of a new one count against the same limits.
// Relaxed atomics: a limit may be overshot by the few accepts already completed when a worker
// notices it, never by more; those are queued, not dropped (see Worker).
struct SharedCounters {
  std::atomic<uint64_t> active{0};
  // Open sessions by frontend counter slot (Snapshot::frontendSlots), not by position: a
  // frontend keeps its count across reloads that reorder the list.
  std::array<std::atomic<uint64_t>, kMaxFrontendSlots> frontendActive{};
  // Sessions the descriptor limit can hold (two descriptors each), HAProxy's maxconn derived
  // from ulimit -n. Accepting beyond it would only park clients that cannot get a server
  // socket. Refreshed whenever a worker runs into EMFILE (the limit can change at run time).
  std::atomic<uint64_t> descriptorBudget{UINT64_MAX};
  // Descriptors that are not sessions' (stdio, rings, listeners...), measured once all workers
  // are up; the budget is what RLIMIT_NOFILE leaves beyond them and the pooled pipes.
  std::atomic<uint64_t> reservedDescriptors{64};
  // Idle pipes in all workers' pools (io::PipePool::countIn): two descriptors each.
  std::atomic<uint64_t> pooledPipes{0};
  // Pipes held by spliced directions, all workers: two descriptors each, like a session, so
  // they count against the same budget (see mayAccept and pipeAffordable).
  std::atomic<uint64_t> pipesInUse{0};
  // Idle pipes each worker's pool may keep: only what the descriptor limit can spare beyond
  // max_connections sessions (refreshDescriptorBudget). Workers apply it at their next turn.
  std::atomic<uint64_t> pipePoolLimit{0};
  // Bumped when a worker runs out of descriptors: every worker then closes its idle pipes.
  std::atomic<uint64_t> pipeTrimEpoch{0};
  unsigned workers = 1;  // set before the workers start; constant afterwards
};

// Sessions RLIMIT_NOFILE leaves room for, after `reserved` descriptors for everything else.
uint64_t sessionsAffordable(uint64_t reserved);
// Whether one more pipe may be taken for splicing: pipes in use stay under a quarter of the
// descriptor budget (HAProxy's maxpipes = maxconn / 4) and, with the sessions, within it. When
// not, the direction copies instead (correctness never depends on splice).
inline bool pipeAffordable(const SharedCounters& counters) {
  const uint64_t budget = counters.descriptorBudget.load(std::memory_order_relaxed);
  const uint64_t inUse = counters.pipesInUse.load(std::memory_order_relaxed);
  const uint64_t active = counters.active.load(std::memory_order_relaxed);
  return inUse < budget / 4 && active + inUse < budget;
}

// Re-reads RLIMIT_NOFILE (it can change at run time) and recomputes the counters' descriptor
// budget (sessions affordable after the reserved descriptors and every pooled pipe) and
// pipePoolLimit (idle pipes per worker, at most `poolMax`: a quarter of the descriptors
// max_connections sessions can never use, shared among the workers; 0 when there are none).
// Returns the budget.
uint64_t refreshDescriptorBudget(SharedCounters& counters, uint64_t maxConnections,
                                 std::size_t poolMax);
// Descriptors this process has open now (from /proc/self/fd); 0 if it cannot tell.
uint64_t openDescriptors();

struct Snapshot {
  std::shared_ptr<const config::Config> config;
  std::vector<BackendRuntime> backends;  // parallel to config->backends
  // Per backend: true when its groups came from SnapshotSources::previous (not rebuilt).
  std::vector<bool> reusedGroups;
  std::shared_ptr<SharedCounters> counters;
  // The frontends' and backends' counter slots (stats::WorkerCounters), parallel to the config's
  // lists, and one past the highest slot of each kind this snapshot names (servers: their
  // LiveServer ids), so a worker can make its counters ready before it counts.
  std::vector<uint32_t> frontendSlots;
  std::vector<uint32_t> backendSlots;
  struct SlotLimits {
    uint32_t frontends = 0;
    uint32_t backends = 0;
    uint32_t servers = 0;
  } slotLimits;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// Where a snapshot gets each server's live record: the control plane's registry, keyed by backend
// and server name, so that a server's state and counts carry over from one snapshot to the next.
using LiveServerSource = std::function<std::shared_ptr<lb::LiveServer>(const config::Backend&,
                                                                       const config::Server&)>;

// A server's effective weight (the configured one unless changed at run time).
using WeightSource = std::function<uint32_t(const config::Backend&, const config::Server&)>;

// Where a snapshot gets its frontends' and backends' counter slots, by name (the control plane's
// stats::SlotNames, so that a name keeps its slot across snapshots).
struct SlotSources {
  std::function<uint32_t(std::string_view frontend)> frontend;
  std::function<uint32_t(std::string_view backend)> backend;
};

// Where buildSnapshot gets what outlives one snapshot. Every member is optional.
struct SnapshotSources {
  // Without it every server gets a fresh record (eligible, no connections, ids numbered across
  // the snapshot): for tests and tools that have no control plane.
  LiveServerSource live;
  WeightSource weight;  // without it the configured weights apply
  SlotSources slots;    // without it the positions are the slots
  // The process's shared counters; without them, fresh ones.
  std::shared_ptr<SharedCounters> counters;
  // A reload's running snapshot: a backend of the same name whose balancer inputs are equal
  // (algorithm, seed, and per group the servers' names, weights, limits and live records, in
  // order) shares its groups instead of building them again, so a reload rebuilds only the
  // backends whose servers or weights changed.
  SnapshotPtr previous;
};

// Builds balancers and counters for `config`.
SnapshotPtr buildSnapshot(std::shared_ptr<const config::Config> config, const SnapshotSources& sources);
// The same with the common sources spelled out.
SnapshotPtr buildSnapshot(std::shared_ptr<const config::Config> config,
                          const LiveServerSource& liveOf = {}, const WeightSource& weightOf = {},
                          const SlotSources& slots = {});


// A copy of `current` whose backend `backend` has its balancers rebuilt with `weightOf` (same
// configuration, counters, live records; every other backend shared as it is). On the control
// thread: a rendezvous rebuild takes time (docs/benchmarks.md).
SnapshotPtr rebuildBackend(const Snapshot& current, std::size_t backend, const WeightSource& weightOf);

}  // namespace ringlb::proxy
