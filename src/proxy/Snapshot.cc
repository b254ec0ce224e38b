#include "ringlb/proxy/Snapshot.h"

#include <dirent.h>
#include <sys/resource.h>

namespace ringlb::proxy {

uint64_t sessionsAffordable(uint64_t reserved) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  return lim.rlim_cur > reserved ? (lim.rlim_cur - reserved) / 2 : 0;
}

uint64_t openDescriptors() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  uint64_t n = 0;
  while (const dirent* entry = readdir(dir)) n += entry->d_name[0] != '.' ? 1 : 0;
  closedir(dir);
  return n > 0 ? n - 1 : 0;  // minus the descriptor of the directory stream itself
}

SnapshotPtr buildSnapshot(std::shared_ptr<const config::Config> config) {
  auto snapshot = std::make_shared<Snapshot>();
  for (const config::Backend& backend : config->backends) {
    lb::ServerSet set;
    for (const config::Server& server : backend.servers) {
      // Eligibility comes from configuration until health checks drive it.
      set.servers.push_back(lb::ServerView{server.name, server.weight, server.maxConnections, true});
    }
    snapshot->backends.push_back(BackendRuntime{
        lb::makeBalancer(backend.balance, set, config->global.hashSeed),
        std::make_shared<lb::ServerLoad>(backend.servers.size())});
  }
  snapshot->counters = std::make_shared<SharedCounters>(config->frontends.size());
  snapshot->config = std::move(config);
  return snapshot;
}

}  // namespace ringlb::proxy
