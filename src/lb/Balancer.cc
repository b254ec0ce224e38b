// The factory behind makeBalancer, and the Roster every algorithm starts from. Runs on the
// control thread (it may take time: the rendezvous table); the result is immutable.
#include "ringlb/lb/Balancer.h"

#include <cassert>

#include "Roster.h"

namespace ringlb::lb {
namespace detail {

Roster::Roster(const ServerSet& set) : serverCount(set.servers.size()) {
  weights.reserve(serverCount);
  maxConnections.reserve(serverCount);
  for (std::size_t i = 0; i < serverCount; ++i) {
    const ServerView& server = set.servers[i];
    weights.push_back(server.weight);
    maxConnections.push_back(server.maxConnections);
    if (server.weight > 0) members.push_back(static_cast<uint32_t>(i));
  }
}

}  // namespace detail

std::vector<std::shared_ptr<LiveServer>> allocateLiveServers(std::size_t count) {
  std::shared_ptr<LiveServer[]> block(new LiveServer[count]);
  std::vector<std::shared_ptr<LiveServer>> records;
  records.reserve(count);
  for (std::size_t i = 0; i < count; ++i) records.emplace_back(block, &block[i]);
  return records;
}

LiveServers::LiveServers(std::size_t servers) : LiveServers(allocateLiveServers(servers)) {}

LiveServers::LiveServers(std::vector<std::shared_ptr<LiveServer>> servers)
    : owners_(std::move(servers)) {
  servers_.reserve(owners_.size());
  for (const auto& record : owners_) {
    assert(record != nullptr);
    servers_.push_back(record.get());
  }
}

BalancerPtr makeBalancer(Algorithm algorithm, const ServerSet& servers, uint64_t seed,
                         const Balancer* previous) {
  switch (algorithm) {
    case Algorithm::Rendezvous: return detail::makeRendezvous(servers, seed, previous);
    case Algorithm::RoundRobin: return detail::makeRoundRobin(servers);
    case Algorithm::LeastConn: return detail::makeLeastConn(servers);
    case Algorithm::Random: return detail::makeRandom(servers, seed);
    case Algorithm::First: return detail::makeFirst(servers);
  }
  return nullptr;  // unreachable: every enumerator is handled above (-Wswitch checks it)
}

}  // namespace ringlb::lb
