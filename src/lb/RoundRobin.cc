// roundrobin: nginx's smooth weighted round robin. Each pick adds every available server's
// weight to its `current`, takes the highest (first in config order on ties) and subtracts the
// total from it. Over sum(weights) picks each server is chosen exactly weight times, interleaved
// rather than in bursts: weights 5,1,1 give a a b a c a a.
//
// Contracts: the Balancer (Roster) is immutable and shared; `current` lives in the Picker, one per
// worker, so each worker runs its own smooth sequence (their union is still weight-proportional)
// and nothing is shared or locked. An unavailable server (ineligible or full) sits the round out: it neither gains weight nor
// counts in the total, as nginx does for unavailable peers, so it does not come back with a burst.
// Failover candidates after the choice are the other available servers by `current` after the
// update, highest first: the servers the sequence would choose next. O(N) per pick (one pass);
// HAProxy's tree-based roundrobin is O(log N) but not smooth. Above a few hundred servers prefer
// rendezvous or random (docs/benchmarks.md).
#include <memory>

#include "Roster.h"

namespace ringlb::lb::detail {
namespace {

class RoundRobinPicker final : public RosterPicker {
 public:
  RoundRobinPicker(std::shared_ptr<const Balancer> owner, const Roster& roster)
      : RosterPicker(std::move(owner), roster), current_(roster.members.size(), 0) {}

  // Picker
  void rank(const PickInput& input, std::size_t want, Candidates& out) override {
    out.count = 0;
    const Roster& roster = this->roster();
    const LiveServers& live = *input.live;
    if (want == 0) return;
    // One pass: add the weights, and keep the `want` highest currents (ties: config order). The
    // first is the choice; only its current changes afterwards, so the others are already the
    // failover order.
    int64_t total = 0;
    BestOf<int64_t> top(want);  // smallest key first, so offer -current; holds member positions
    for (std::size_t m = 0; m < roster.members.size(); ++m) {
      const uint32_t server = roster.members[m];
      if (roster.unavailable(server, live)) continue;
      current_[m] += roster.weights[server];
      total += roster.weights[server];
      top.offer(-current_[m], static_cast<uint32_t>(m));
    }
    if (top.size() == 0) return;
    current_[top[0]] -= total;
    for (std::size_t i = 0; i < top.size(); ++i) push(out, roster.members[top[i]]);
  }

 private:
  std::vector<int64_t> current_;  // per member position
};

}  // namespace

BalancerPtr makeRoundRobin(const ServerSet& set) {
  return std::make_shared<RosterBalancer<RoundRobinPicker, Algorithm::RoundRobin>>(set);
}

}  // namespace ringlb::lb::detail
