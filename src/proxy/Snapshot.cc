#include "ringlb/proxy/Snapshot.h"

#include <dirent.h>
#include <sys/resource.h>

#include <algorithm>

namespace ringlb::proxy {

uint64_t sessionsAffordable(uint64_t reserved) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  return lim.rlim_cur > reserved ? (lim.rlim_cur - reserved) / 2 : 0;
}

uint64_t refreshDescriptorBudget(SharedCounters& counters, uint64_t maxConnections,
                                 std::size_t poolMax) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) {
    counters.descriptorBudget.store(UINT64_MAX, std::memory_order_relaxed);
    counters.pipePoolLimit.store(poolMax, std::memory_order_relaxed);
    return UINT64_MAX;
  }
  const uint64_t limit = lim.rlim_cur;
  const uint64_t reserved = counters.reservedDescriptors.load(std::memory_order_relaxed);
  const uint64_t pooled = 2 * counters.pooledPipes.load(std::memory_order_relaxed);
  const uint64_t budget = limit > reserved + pooled ? (limit - reserved - pooled) / 2 : 0;
  counters.descriptorBudget.store(budget, std::memory_order_relaxed);
  // Pooled pipes are a speed-up, sessions are the service: pools may only keep descriptors that
  // max_connections sessions could never claim, and only a quarter of those (the rest stays for
  // pipes in use: a spliced direction holds two more descriptors while it lives).
  const uint64_t sessionsNeed = maxConnections > UINT64_MAX / 2 ? UINT64_MAX : 2 * maxConnections;
  const uint64_t spare = limit > reserved + sessionsNeed ? limit - reserved - sessionsNeed : 0;
  const uint64_t perWorker = spare / 8 / std::max(1u, counters.workers);  // 2 fds per pipe
  counters.pipePoolLimit.store(std::min<uint64_t>(poolMax, perWorker), std::memory_order_relaxed);
  return budget;
}

uint64_t openDescriptors() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  uint64_t n = 0;
  while (const dirent* entry = readdir(dir)) n += entry->d_name[0] != '.' ? 1 : 0;
  closedir(dir);
  return n > 0 ? n - 1 : 0;  // minus the descriptor of the directory stream itself
}

namespace {

// One group of `backend` (its primaries, or its backups) over the live records `live` (config
// order): the balancer's inputs, without building it yet.
ServerGroup groupInputs(const config::Backend& backend, bool backups,
                        const std::vector<std::shared_ptr<lb::LiveServer>>& live, const WeightSource& weightOf) {
  ServerGroup g;
  std::vector<std::shared_ptr<lb::LiveServer>> records;
  for (std::size_t i = 0; i < backend.servers.size(); ++i) {
    const config::Server& server = backend.servers[i];
    if (server.backup != backups) continue;
    const uint32_t weight = weightOf ? weightOf(backend, server) : server.weight;
    g.set.servers.push_back(lb::ServerView{server.name, weight, server.maxConnections});
    records.push_back(live[i]);
    g.index.push_back(static_cast<uint32_t>(i));
  }
  g.live = std::make_shared<lb::LiveServers>(std::move(records));
  return g;
}

bool sameRecords(const lb::LiveServers& a, const lb::LiveServers& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a.record(i) != b.record(i)) return false;
  }
  return true;
}

// Whether `old` was built from exactly the inputs of `next` (its balancer may be shared).
bool sameInputs(const ServerGroup& old, const ServerGroup& next) {
  return old.set == next.set && old.index == next.index && sameRecords(*old.live, *next.live);
}

// The primary and backup groups of `backend` over its live records `live` (config order). With
// `previous` (the same backend in the running snapshot), groups built from equal inputs are
// taken from it when `share` (returns true when both were), and new balancers are built from
// its balancers (lb::makeBalancer's `previous`).
bool buildGroups(BackendRuntime& runtime, const config::Backend& backend, uint64_t seed,
                 const std::vector<std::shared_ptr<lb::LiveServer>>& live, const WeightSource& weightOf,
                 const BackendRuntime* previous = nullptr, bool share = true) {
  runtime.balance = backend.balance;
  runtime.seed = seed;
  const bool sameBalancer =
      previous != nullptr && previous->balance == backend.balance && previous->seed == seed;
  bool reused = true;
  // Each group's balancer sees only its servers; its LiveServers point at the same records.
  auto finish = [&](ServerGroup g, const ServerGroup* before) {
    if (share && sameBalancer && before != nullptr && sameInputs(*before, g)) return *before;
    reused = false;
    // The balancer it replaces, if built the same way: rendezvous then recomputes only the rows
    // a weight change touches.
    g.balancer = lb::makeBalancer(backend.balance, g.set, seed,
                                  sameBalancer && before != nullptr ? before->balancer.get() : nullptr);
    return g;
  };
  runtime.primary = finish(groupInputs(backend, false, live, weightOf), previous ? &previous->primary : nullptr);
  const bool anyBackup = std::any_of(backend.servers.begin(), backend.servers.end(),
                                     [](const config::Server& s) { return s.backup; });
  runtime.backup.reset();
  if (anyBackup) {
    const ServerGroup* before = previous != nullptr && previous->backup ? &*previous->backup : nullptr;
    runtime.backup = finish(groupInputs(backend, true, live, weightOf), before);
  } else if (previous != nullptr && previous->backup) {
    reused = false;
  }
  return reused && previous != nullptr && share;
}

}  // namespace

SnapshotPtr buildSnapshot(std::shared_ptr<const config::Config> config, const LiveServerSource& liveOf,
                          const WeightSource& weightOf, const SlotSources& slots) {
  SnapshotSources sources;
  sources.live = liveOf;
  sources.weight = weightOf;
  sources.slots = slots;
  return buildSnapshot(std::move(config), sources);
}

SnapshotPtr buildSnapshot(std::shared_ptr<const config::Config> config, const SnapshotSources& sources) {
  auto snapshot = std::make_shared<Snapshot>();
  Snapshot::SlotLimits& limits = snapshot->slotLimits;
  const Snapshot* previous = sources.previous.get();
  uint32_t nextId = 0;
  for (const config::Backend& backend : config->backends) {
    std::vector<std::shared_ptr<lb::LiveServer>> live;
    if (!sources.live) {
      live = lb::allocateLiveServers(backend.servers.size());
      for (auto& record : live) record->id = nextId++;
    }
    for (const config::Server& server : backend.servers) {
      if (sources.live) live.push_back(sources.live(backend, server));
      limits.servers = std::max(limits.servers, live.back()->id + 1);
    }
    const BackendRuntime* before = nullptr;
    if (previous != nullptr) {
      const auto& old = previous->config->backends;
      const auto it = std::find_if(old.begin(), old.end(),
                                   [&](const config::Backend& b) { return b.name == backend.name; });
      if (it != old.end()) before = &previous->backends[static_cast<std::size_t>(it - old.begin())];
    }
    BackendRuntime runtime;
    const bool reused = buildGroups(runtime, backend, config->global.hashSeed, live, sources.weight, before);
    runtime.live = std::make_shared<lb::LiveServers>(std::move(live));
    snapshot->backends.push_back(std::move(runtime));
    snapshot->reusedGroups.push_back(reused);
  }
  for (std::size_t i = 0; i < config->frontends.size(); ++i) {
    const uint32_t slot = sources.slots.frontend ? sources.slots.frontend(config->frontends[i].name)
                                                 : static_cast<uint32_t>(i);
    snapshot->frontendSlots.push_back(slot);
    limits.frontends = std::max(limits.frontends, slot + 1);
  }
  for (std::size_t i = 0; i < config->backends.size(); ++i) {
    const uint32_t slot = sources.slots.backend ? sources.slots.backend(config->backends[i].name)
                                                : static_cast<uint32_t>(i);
    snapshot->backendSlots.push_back(slot);
    limits.backends = std::max(limits.backends, slot + 1);
  }
  snapshot->counters = sources.counters ? sources.counters : std::make_shared<SharedCounters>();
  snapshot->config = std::move(config);
  return snapshot;
}

void rankServers(const BackendRuntime& runtime, lb::Picker& primary, lb::Picker* backup,
                 lb::PickInput input, std::size_t want, lb::Candidates& out) {
  // Candidates come back as group positions: map them to server indexes.
  auto rankGroup = [&](const ServerGroup& group, lb::Picker& picker) {
    input.live = group.live.get();
    picker.rank(input, want, out);
    for (std::size_t i = 0; i < out.count; ++i) out.index[i] = group.index[out.index[i]];
  };
  rankGroup(runtime.primary, primary);
  if (out.count == 0 && runtime.backup && backup != nullptr) rankGroup(*runtime.backup, *backup);
}

SnapshotPtr rebuildBackend(const Snapshot& current, std::size_t backend, const WeightSource& weightOf) {
  auto next = std::make_shared<Snapshot>(current);
  const config::Backend& cfg = current.config->backends[backend];
  std::vector<std::shared_ptr<lb::LiveServer>> live;
  for (std::size_t i = 0; i < cfg.servers.size(); ++i) live.push_back(current.backends[backend].live->shared(i));
  // The current groups are the starting point (a weight change rebuilds only what it touches).
  // Nothing is shared outright: callers ask for a rebuild because they changed a weight.
  BackendRuntime& runtime = next->backends[backend];
  const BackendRuntime before = runtime;
  buildGroups(runtime, cfg, current.config->global.hashSeed, live, weightOf, &before, false);
  next->reusedGroups[backend] = false;
  return next;
}

}  // namespace ringlb::proxy
