#pragma once
// Internal to lb/: what every algorithm copies out of a ServerSet at build time, and the helpers
// their Pickers share. Built on the control thread, immutable afterwards, read by every worker.
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "ringlb/lb/Balancer.h"

namespace ringlb::lb::detail {

// The servers of one backend as the balancers need them. `members` is decided once, at build
// time: a server of weight 0 is simply not a member (a weight change rebuilds the balancer).
// Eligibility and fullness (max_connections) change at run time and are read at pick time from
// LiveServers, so that health and admin changes never rebuild a table.
struct Roster {
  explicit Roster(const ServerSet& set);

  std::size_t serverCount = 0;
  std::vector<uint32_t> members;         // server indexes with weight > 0, config order
  std::vector<uint32_t> weights;         // per server index
  std::vector<uint32_t> maxConnections;  // per server index; 0 = unlimited

  // Whether a pick must skip the server now: not eligible (down, draining, in maintenance), or
  // at its max_connections. Both are momentary reads: another worker may take the last slot right
  // after, so max_connections is exact only up to concurrent picks (see docs/balancing.md).
  bool unavailable(uint32_t server, const LiveServers& live) const {
    assert(live.size() == serverCount);
    if (!live.eligible(server)) return true;
    const uint32_t limit = maxConnections[server];
    return limit != 0 && live.active(server) >= limit;
  }
};

// The Picker side of a roster algorithm: a worker's picker reads the shared, immutable Roster
// and keeps the balancer that owns it alive.
class RosterPicker : public Picker {
 public:
  RosterPicker(std::shared_ptr<const Balancer> owner, const Roster& roster)
      : owner_(std::move(owner)), roster_(roster) {}

 protected:
  const Roster& roster() const { return roster_; }

 private:
  std::shared_ptr<const Balancer> owner_;  // keeps roster_ alive
  const Roster& roster_;
};

// The Balancer of the algorithms whose only shared state is the Roster (roundrobin, leastconn,
// first): everything per worker lives in PickerT, a RosterPicker.
template <typename PickerT, Algorithm kAlgorithm>
class RosterBalancer final
    : public Balancer,
      public std::enable_shared_from_this<RosterBalancer<PickerT, kAlgorithm>> {
 public:
  explicit RosterBalancer(const ServerSet& set) : roster_(set) {}

  std::unique_ptr<Picker> makePicker() const override {
    return std::make_unique<PickerT>(this->shared_from_this(), roster_);
  }
  Algorithm algorithm() const override { return kAlgorithm; }

 private:
  Roster roster_;
};

inline bool contains(const Candidates& out, uint32_t server) {
  for (std::size_t i = 0; i < out.count; ++i) {
    if (out.index[i] == server) return true;
  }
  return false;
}

inline void push(Candidates& out, uint32_t server) {
  assert(out.count < kMaxCandidates);
  out.index[out.count++] = server;
}

// Keeps the `want` (<= kMaxCandidates) best offers, smallest key first. Stable: among equal keys
// the one offered first ranks first, which is how callers express their tie-break order.
template <typename Key>
class BestOf {
 public:
  explicit BestOf(std::size_t want) : want_(want < kMaxCandidates ? want : kMaxCandidates) {}

  void offer(Key key, uint32_t server) {
    if (want_ == 0 || (count_ == want_ && !(key < keys_[count_ - 1]))) return;
    std::size_t at = count_ < want_ ? count_++ : count_ - 1;
    while (at > 0 && key < keys_[at - 1]) {
      keys_[at] = keys_[at - 1];
      servers_[at] = servers_[at - 1];
      --at;
    }
    keys_[at] = key;
    servers_[at] = server;
  }

  std::size_t size() const { return count_; }
  uint32_t operator[](std::size_t i) const { return servers_[i]; }

  void appendTo(Candidates& out) const {
    for (std::size_t i = 0; i < count_ && out.count < kMaxCandidates; ++i) push(out, servers_[i]);
  }

 private:
  std::size_t want_;
  std::size_t count_ = 0;
  Key keys_[kMaxCandidates]{};
  uint32_t servers_[kMaxCandidates]{};
};

// Load relative to weight, the key leastconn and random compare (smaller is better). The +1
// counts the connection being placed, as HAProxy does: from an idle start the heavier server is
// preferred instead of every server tying at zero. Integer ratios that are equal give equal
// doubles (division is correctly rounded), so ties stay ties.
inline double relativeLoad(uint32_t active, uint32_t weight) {
  return (static_cast<double>(active) + 1.0) / static_cast<double>(weight);
}

// One factory per algorithm file; makeBalancer (Balancer.cc) dispatches.
BalancerPtr makeRendezvous(const ServerSet& set, uint64_t seed, const Balancer* previous);
BalancerPtr makeRoundRobin(const ServerSet& set);
BalancerPtr makeLeastConn(const ServerSet& set);
BalancerPtr makeRandom(const ServerSet& set, uint64_t seed);
BalancerPtr makeFirst(const ServerSet& set);

}  // namespace ringlb::lb::detail
