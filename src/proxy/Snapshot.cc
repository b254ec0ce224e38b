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

// The primary and backup groups of `backend` over its live records `live` (config order).
void buildGroups(BackendRuntime& runtime, const config::Backend& backend, uint64_t seed,
                 const std::vector<std::shared_ptr<lb::LiveServer>>& live, const WeightSource& weightOf) {
  // Each group's balancer sees only its servers; its LiveServers point at the same records.
  auto group = [&](bool backups) {
    ServerGroup g;
    lb::ServerSet set;
    std::vector<std::shared_ptr<lb::LiveServer>> records;
    for (std::size_t i = 0; i < backend.servers.size(); ++i) {
      const config::Server& server = backend.servers[i];
      if (server.backup != backups) continue;
      const uint32_t weight = weightOf ? weightOf(backend, server) : server.weight;
      set.servers.push_back(lb::ServerView{server.name, weight, server.maxConnections});
      records.push_back(live[i]);
      g.index.push_back(static_cast<uint32_t>(i));
    }
    g.balancer = lb::makeBalancer(backend.balance, set, seed);
    g.live = std::make_shared<lb::LiveServers>(std::move(records));
    return g;
  };
  runtime.primary = group(false);
  const bool anyBackup = std::any_of(backend.servers.begin(), backend.servers.end(),
                                     [](const config::Server& s) { return s.backup; });
  runtime.backup.reset();
  if (anyBackup) runtime.backup = group(true);
}

}  // namespace

SnapshotPtr buildSnapshot(std::shared_ptr<const config::Config> config, const LiveServerSource& liveOf,
                          const WeightSource& weightOf, const SlotSources& slots) {
  auto snapshot = std::make_shared<Snapshot>();
  Snapshot::SlotLimits& limits = snapshot->slotLimits;
  uint32_t nextId = 0;
  for (const config::Backend& backend : config->backends) {
    std::vector<std::shared_ptr<lb::LiveServer>> live;
    if (!liveOf) {
      live = lb::allocateLiveServers(backend.servers.size());
      for (auto& record : live) record->id = nextId++;
    }
    for (const config::Server& server : backend.servers) {
      if (liveOf) live.push_back(liveOf(backend, server));
      limits.servers = std::max(limits.servers, live.back()->id + 1);
    }
    BackendRuntime runtime;
    buildGroups(runtime, backend, config->global.hashSeed, live, weightOf);
    runtime.live = std::make_shared<lb::LiveServers>(std::move(live));
    snapshot->backends.push_back(std::move(runtime));
  }
  for (std::size_t i = 0; i < config->frontends.size(); ++i) {
    const uint32_t slot = slots.frontend ? slots.frontend(config->frontends[i].name) : static_cast<uint32_t>(i);
    snapshot->frontendSlots.push_back(slot);
    limits.frontends = std::max(limits.frontends, slot + 1);
  }
  for (std::size_t i = 0; i < config->backends.size(); ++i) {
    const uint32_t slot = slots.backend ? slots.backend(config->backends[i].name) : static_cast<uint32_t>(i);
    snapshot->backendSlots.push_back(slot);
    limits.backends = std::max(limits.backends, slot + 1);
  }
  snapshot->counters = std::make_shared<SharedCounters>(config->frontends.size());
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
  buildGroups(next->backends[backend], cfg, current.config->global.hashSeed, live, weightOf);
  return next;
}

}  // namespace ringlb::proxy
