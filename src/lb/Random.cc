// random: HAProxy's random(2), the power of two random choices. Draw two distinct servers at
// random in proportion to their weights and take the one with the smaller (active + 1) / weight.
// Unlike leastconn it needs no scan of every server, and unlike pure random it steers away from
// overloaded servers: the most loaded server is chosen only when both draws land on it.
//
// Contracts: the Balancer (Roster, cumulative weights) is immutable and shared; the Picker owns
// its generator (splitmix64; per worker, no locks). Pickers are seeded from the hash seed and a
// per-balancer counter, so a process's sequence of choices is reproducible in tests; nothing
// needs it to be unpredictable. Loads are the shared ServerLoad (see LeastConn.cc for why).
//
// Full servers are redrawn a few times; failover candidates after the two drawn are filled by a
// walk over the members from a random start, skipping full and already chosen servers, which also
// covers the case where every draw hit a full server. O(log N) per pick, O(N) worst case.
#include <algorithm>
#include <atomic>
#include <memory>

#include "Roster.h"
#include "ringlb/lb/Hash.h"

namespace ringlb::lb::detail {
namespace {

constexpr int kDrawAttempts = 4;  // per drawn server: bounds the cost when many servers are full

class RandomBalancer final : public Balancer, public std::enable_shared_from_this<RandomBalancer> {
 public:
  RandomBalancer(const ServerSet& set, uint64_t seed) : roster_(set), seed_(seed) {
    uint64_t sum = 0;
    for (uint32_t server : roster_.members) {
      sum += roster_.weights[server];
      cumulative_.push_back(sum);
    }
  }

  std::unique_ptr<Picker> makePicker() const override;
  Algorithm algorithm() const override { return Algorithm::Random; }
  const Roster& roster() const { return roster_; }

  // The member position owning point `r` in [0, total): weighted by construction.
  std::size_t memberAt(uint64_t r) const {
    return static_cast<std::size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), r) -
                                    cumulative_.begin());
  }
  uint64_t totalWeight() const { return cumulative_.empty() ? 0 : cumulative_.back(); }

 private:
  Roster roster_;
  uint64_t seed_;
  std::vector<uint64_t> cumulative_;  // per member position: running sum of weights
  mutable std::atomic<uint64_t> pickers_{0};  // distinct seeds for each worker's generator
};

class RandomPicker final : public Picker {
 public:
  RandomPicker(std::shared_ptr<const RandomBalancer> balancer, uint64_t seed)
      : balancer_(std::move(balancer)), state_(seed) {}

  // Picker
  void rank(const PickInput& input, std::size_t want, Candidates& out) override {
    out.count = 0;
    if (want > kMaxCandidates) want = kMaxCandidates;
    const Roster& roster = balancer_->roster();
    const ServerLoad& load = *input.load;
    const std::size_t members = roster.members.size();
    if (want == 0 || members == 0) return;
    const uint32_t first = draw(load, kNoServer);
    const uint32_t second = members > 1 ? draw(load, first) : kNoServer;
    if (first != kNoServer && second != kNoServer) {
      const bool secondLighter = relativeLoad(load.active(second), roster.weights[second]) <
                                 relativeLoad(load.active(first), roster.weights[first]);
      push(out, secondLighter ? second : first);
      if (want > 1) push(out, secondLighter ? first : second);
    } else if (first != kNoServer) {
      push(out, first);
    }
    std::size_t m = static_cast<std::size_t>(next() % members);
    for (std::size_t step = 0; step < members && out.count < want; ++step) {
      const uint32_t server = roster.members[m];
      if (!roster.isFull(server, load) && !contains(out, server)) push(out, server);
      if (++m == members) m = 0;
    }
  }

 private:
  static constexpr uint32_t kNoServer = static_cast<uint32_t>(-1);

  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }

  // A weighted random server that is not full and not `other`, or kNoServer after
  // kDrawAttempts misses.
  uint32_t draw(const ServerLoad& load, uint32_t other) {
    const Roster& roster = balancer_->roster();
    for (int attempt = 0; attempt < kDrawAttempts; ++attempt) {
      // Modulo bias is at most total/2^64 (total <= 1000 x servers): negligible.
      const uint32_t server = roster.members[balancer_->memberAt(next() % balancer_->totalWeight())];
      if (server != other && !roster.isFull(server, load)) return server;
    }
    return kNoServer;
  }

  std::shared_ptr<const RandomBalancer> balancer_;
  uint64_t state_;
};

std::unique_ptr<Picker> RandomBalancer::makePicker() const {
  const uint64_t n = pickers_.fetch_add(1, std::memory_order_relaxed);
  return std::make_unique<RandomPicker>(shared_from_this(), mix64(seed_ ^ mix64(n + 1)));
}

}  // namespace

BalancerPtr makeRandom(const ServerSet& set, uint64_t seed) {
  return std::make_shared<RandomBalancer>(set, seed);
}

}  // namespace ringlb::lb::detail
