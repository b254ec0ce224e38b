// random: HAProxy's random(2), the power of two random choices. Draw two distinct servers at
// random in proportion to their weights and take the one with the smaller (active + 1) / weight.
// Unlike leastconn it needs no scan of every server, and unlike pure random it steers away from
// overloaded servers: the most loaded server wins only if no distinct second server was drawn.
//
// Contracts: the Balancer (Roster, alias table) is immutable and shared; the Picker owns
// its generator (splitmix64; per worker, no locks). Pickers are seeded from the hash seed and a
// per-balancer counter, so a process's sequence of choices is reproducible in tests; nothing
// needs it to be unpredictable. Loads are the shared LiveServers (see LeastConn.cc for why).
//
// Unavailable servers (ineligible or full) are redrawn a few times; failover candidates after the
// two drawn are filled by a walk over the members from a random start, skipping unavailable and
// already chosen servers, which also covers the case where every draw missed. O(1) per pick, O(N)
// worst case (most servers down or full).
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
  RandomBalancer(const ServerSet& set, uint64_t seed) : roster_(set), seed_(seed) { buildAliasTable(); }

  std::unique_ptr<Picker> makePicker() const override;
  Algorithm algorithm() const override { return Algorithm::Random; }
  const Roster& roster() const { return roster_; }

  // A member position drawn in proportion to weight from 64 random bits, in O(1) with Walker's
  // alias method (Vose's construction): the high 32 bits choose a column uniformly, the low 32
  // bits choose between the column's own member and its alias. A binary search over cumulative
  // weights cost more, in mispredicted branches, than the rest of the pick together.
  std::size_t drawMember(uint64_t bits) const {
    const std::size_t column = static_cast<std::size_t>(((bits >> 32) * keep_.size()) >> 32);
    return (bits & 0xffffffffULL) < keep_[column] ? column : alias_[column];
  }

 private:
  Roster roster_;
  uint64_t seed_;
  // Exact integer construction: column c keeps its member with probability keep_[c] / 2^32
  // (2^32 = always) and otherwise yields alias_[c]. Each column holds `total` units of weight;
  // member m brings weight[m] x columns units.
  void buildAliasTable() {
    const std::size_t n = roster_.members.size();
    keep_.assign(n, uint64_t{1} << 32);
    alias_.resize(n);
    uint64_t total = 0;
    for (uint32_t server : roster_.members) total += roster_.weights[server];
    std::vector<uint64_t> units(n);
    std::vector<uint32_t> small, large;
    for (std::size_t m = 0; m < n; ++m) {
      alias_[m] = static_cast<uint32_t>(m);
      units[m] = uint64_t{roster_.weights[roster_.members[m]]} * n;
      (units[m] < total ? small : large).push_back(static_cast<uint32_t>(m));
    }
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back();
      const uint32_t l = large.back();
      small.pop_back();
      keep_[s] = (units[s] << 32) / total;
      alias_[s] = l;
      units[l] -= total - units[s];  // l fills the rest of column s
      if (units[l] < total) {
        large.pop_back();
        small.push_back(l);
      }
    }
  }

  std::vector<uint64_t> keep_;    // per column (= member position): threshold out of 2^32
  std::vector<uint32_t> alias_;   // per column: the member position taken above the threshold
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
    const LiveServers& live = *input.live;
    const std::size_t members = roster.members.size();
    if (want == 0 || members == 0) return;
    const uint32_t first = draw(live, kNoServer);
    const uint32_t second = members > 1 ? draw(live, first) : kNoServer;
    if (first != kNoServer && second != kNoServer) {
      const bool secondLighter = relativeLoad(live.active(second), roster.weights[second]) <
                                 relativeLoad(live.active(first), roster.weights[first]);
      push(out, secondLighter ? second : first);
      if (want > 1) push(out, secondLighter ? first : second);
    } else if (first != kNoServer) {
      push(out, first);
    }
    std::size_t m = static_cast<std::size_t>(below(members));
    for (std::size_t step = 0; step < members && out.count < want; ++step) {
      const uint32_t server = roster.members[m];
      if (!roster.unavailable(server, live) && !contains(out, server)) push(out, server);
      if (++m == members) m = 0;
    }
  }

 private:
  static constexpr uint32_t kNoServer = static_cast<uint32_t>(-1);

  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }

  // Uniform in [0, range) for range < 2^32 by multiply-shift (Lemire) instead of a 64-bit
  // division. Bias is at most range / 2^32: irrelevant for load spreading.
  uint64_t below(uint64_t range) {
    assert(range < (uint64_t{1} << 32));
    return ((next() >> 32) * range) >> 32;
  }

  // A weighted random server that is available and not `other`, or kNoServer after
  // kDrawAttempts misses.
  uint32_t draw(const LiveServers& live, uint32_t other) {
    const Roster& roster = balancer_->roster();
    for (int attempt = 0; attempt < kDrawAttempts; ++attempt) {
      const uint32_t server = roster.members[balancer_->drawMember(next())];
      if (server != other && !roster.unavailable(server, live)) return server;
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
