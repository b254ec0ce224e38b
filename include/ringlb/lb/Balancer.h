#pragma once
// The balancer seam. The control thread builds an immutable Balancer per backend (tables are
// computed here, off the data path) and publishes it in a snapshot. Each worker asks it for a
// Picker: the worker's private, mutable cursor (round-robin position, random generator). A Picker
// is used by exactly one thread and never locks.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ringlb/lb/Algorithm.h"

namespace ringlb::lb {

// One server as the balancers see it: identity, weight, and eligibility. `eligible` comes from
// the server state snapshot (config today; health checks and the admin socket later).
struct ServerView {
  std::string name;             // stable identity: the rendezvous hash input
  uint32_t weight = 100;        // 0..1000; 0 means no new connections
  uint32_t maxConnections = 0;  // 0 = unlimited; at the limit the server is skipped as if full
  bool eligible = true;
};

// The server state snapshot of one backend: immutable once published.
struct ServerSet {
  std::vector<ServerView> servers;
};

// Live connection counts per server, shared by every worker. Relaxed atomics: the counts steer
// choices (leastconn, first, max_connections) and a momentarily stale read only shifts one pick.
class ServerLoad {
 public:
  explicit ServerLoad(std::size_t servers) : active_(servers) {}
  std::size_t size() const { return active_.size(); }
  uint32_t active(std::size_t server) const { return active_[server].load(std::memory_order_relaxed); }
  void acquire(std::size_t server) { active_[server].fetch_add(1, std::memory_order_relaxed); }
  void release(std::size_t server) { active_[server].fetch_sub(1, std::memory_order_relaxed); }

 private:
  std::vector<std::atomic<uint32_t>> active_;
};

inline constexpr std::size_t kMaxCandidates = 8;

// Distinct server indexes (into ServerSet::servers), best first. count == 0: nothing available.
struct Candidates {
  std::array<uint32_t, kMaxCandidates> index{};
  std::size_t count = 0;
};

struct PickInput {
  uint64_t keyHash = 0;  // hashClientKey() of the client address, per the backend's hash_key
  const ServerLoad* load = nullptr;  // never null when passed to a Picker
};

// A worker's private selector for one backend. Not thread-safe by design: one per worker.
class Picker {
 public:
  virtual ~Picker() = default;
  // Fills `out` with up to `want` (<= kMaxCandidates) ranked distinct candidates, skipping servers
  // that are ineligible, of weight 0, or at their max_connections. The first is the choice; the
  // rest are the failover order used when connecting to the first fails.
  virtual void rank(const PickInput& input, std::size_t want, Candidates& out) = 0;
};

// Immutable, shared by all workers through the published snapshot.
class Balancer {
 public:
  virtual ~Balancer() = default;
  virtual std::unique_ptr<Picker> makePicker() const = 0;
  virtual Algorithm algorithm() const = 0;
};

using BalancerPtr = std::shared_ptr<const Balancer>;

// Builds the balancer for `algorithm` over `servers`. May allocate and take time (rendezvous
// table); call it off the data path. `seed` is global.hash_seed.
BalancerPtr makeBalancer(Algorithm algorithm, const ServerSet& servers, uint64_t seed);

// Hash of the client key bytes (IP bytes, plus the port in network order for source_ip_port),
// seeded. Deterministic across processes and machines for the same seed.
uint64_t hashClientKey(std::span<const uint8_t> key, uint64_t seed);

inline constexpr uint64_t kDefaultHashSeed = 0x52696e674c42ULL;  // "RingLB"

}  // namespace ringlb::lb
