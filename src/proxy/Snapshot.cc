#include "ringlb/proxy/Snapshot.h"

namespace ringlb::proxy {

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
