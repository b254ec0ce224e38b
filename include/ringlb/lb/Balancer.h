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

// One server as a balancer's tables see it: identity and weight, fixed for the balancer's life.
// What changes at run time (eligibility, connection counts) is not here but in LiveServer, so
// that a server going down or coming back never rebuilds a table.
struct ServerView {
  std::string name;             // stable identity: the rendezvous hash input
  uint32_t weight = 100;        // 0..1000; 0 means no new connections (not even ranked)
  uint32_t maxConnections = 0;  // 0 = unlimited; at the limit the server is skipped as if full
  bool operator==(const ServerView&) const = default;
};

// The servers of one backend for a balancer build: immutable once published.
struct ServerSet {
  std::vector<ServerView> servers;
  bool operator==(const ServerSet&) const = default;
};

// The live state of one server that picks read: whether it may take new connections (its health
// and administrative state, decided by the control thread) and how many it has (every worker).
// It belongs to the server, not to a snapshot: the control thread keeps one per server identity
// (backend + server name) for the process's life, and every snapshot that lists the server
// points at the same one, so its state survives reloads and no position crosses snapshots.
// Relaxed atomics: a pick that reads a state a moment old only decides one connection; the next
// pick sees the change (the control thread's store is visible within the workers' next turn).
// Sixteen bytes, allocated in blocks (allocateLiveServers): a pick reads several servers' records,
// and at thousands of servers cache footprint costs more than the false sharing of `active`
// between workers (measured: docs/benchmarks.md, "Selection cost").
struct LiveServer {
  std::atomic<uint32_t> active{0};
  // Connects to the server that failed in a row, all workers (reset by one that works): passive
  // health checking, read by the control thread.
  std::atomic<uint32_t> failureStreak{0};
  std::atomic<bool> eligible{true};
  // The server's identity for the process's life, set by whoever creates the record (the control
  // plane's registry) and never changed: it indexes per-server tables such as the workers'
  // counters (stats::WorkerCounters), which positions in a snapshot could not.
  uint32_t id = 0;
};

// `count` fresh records (eligible, no connections) in one contiguous block; each keeps the block
// alive.
std::vector<std::shared_ptr<LiveServer>> allocateLiveServers(std::size_t count);

// The live records of one backend's servers, in the order of the ServerSet its balancer was
// built from (index i here is server i there). Shared by every worker through the snapshot.
class LiveServers {
 public:
  // Fresh records, all eligible (tests, benchmarks, a backend without runtime state).
  explicit LiveServers(std::size_t servers);
  // Existing records, one per server of the set, in its order; none may be null.
  explicit LiveServers(std::vector<std::shared_ptr<LiveServer>> servers);

  std::size_t size() const { return servers_.size(); }
  bool eligible(std::size_t server) const {
    return servers_[server]->eligible.load(std::memory_order_relaxed);
  }
  uint32_t active(std::size_t server) const {
    return servers_[server]->active.load(std::memory_order_relaxed);
  }
  void acquire(std::size_t server) { servers_[server]->active.fetch_add(1, std::memory_order_relaxed); }
  void release(std::size_t server) { servers_[server]->active.fetch_sub(1, std::memory_order_relaxed); }
  // Control thread (and tests): takes effect at the workers' next pick.
  void setEligible(std::size_t server, bool eligible) {
    servers_[server]->eligible.store(eligible, std::memory_order_relaxed);
  }
  // The server's identity for the process's life (commands name servers by it).
  const LiveServer* record(std::size_t server) const { return servers_[server]; }
  LiveServer& at(std::size_t server) const { return *servers_[server]; }
  const std::shared_ptr<LiveServer>& shared(std::size_t server) const { return owners_[server]; }

 private:
  std::vector<LiveServer*> servers_;                 // what picks read: 8 bytes per server
  std::vector<std::shared_ptr<LiveServer>> owners_;  // keeps the records alive
};

inline constexpr std::size_t kMaxCandidates = 8;

// Distinct server indexes (into ServerSet::servers), best first. count == 0: nothing available.
struct Candidates {
  std::array<uint32_t, kMaxCandidates> index{};
  std::size_t count = 0;
};

struct PickInput {
  uint64_t keyHash = 0;  // hashClientKey() of the client address, per the backend's hash_key
  const LiveServers* live = nullptr;  // never null when passed to a Picker
};

// A worker's private selector for one backend. Not thread-safe by design: one per worker.
class Picker {
 public:
  virtual ~Picker() = default;
  // Fills `out` with up to `want` (<= kMaxCandidates) ranked distinct candidates, skipping servers
  // that are ineligible (read live, never from the table), of weight 0, or at their
  // max_connections. With rendezvous, skipping keeps every other ranking: a client whose first
  // choice is down goes to its next, and no client of an eligible server moves. The first is the choice; the
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
// `previous`: the balancer this one replaces (same backend), if any; an algorithm may build from
// it what did not change (rendezvous: only the rows a weight change touches).
BalancerPtr makeBalancer(Algorithm algorithm, const ServerSet& servers, uint64_t seed,
                         const Balancer* previous = nullptr);

// Hash of the client key bytes (IP bytes, plus the port in network order for source_ip_port),
// seeded. Deterministic across processes and machines for the same seed.
uint64_t hashClientKey(std::span<const uint8_t> key, uint64_t seed);

inline constexpr uint64_t kDefaultHashSeed = 0x52696e674c42ULL;  // "RingLB"

}  // namespace ringlb::lb
