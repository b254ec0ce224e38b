// roundrobin: nginx's smooth weighted round robin. Each pick adds every available server's
// weight to its `current`, takes the highest (first in config order on ties) and subtracts the
// total from it. Over sum(weights) picks each server is chosen exactly weight times, interleaved
// rather than in bursts: weights 5,1,1 give a a b a c a a.
//
// Contracts: the Balancer (Roster) is immutable and shared; `current` lives in the Picker, one per
// worker, so each worker runs its own smooth sequence (their union is still weight-proportional)
// and nothing is shared or locked. A full server sits the round out: it neither gains weight nor
// counts in the total, as nginx does for unavailable peers, so it does not come back with a burst.
// Failover candidates after the choice are the other available servers by `current` after the
// update, highest first: the servers the sequence would choose next. O(N) per pick.
#include <memory>

#include "Roster.h"

namespace ringlb::lb::detail {
namespace {

class RoundRobinBalancer final : public Balancer,
                                 public std::enable_shared_from_this<RoundRobinBalancer> {
 public:
  explicit RoundRobinBalancer(const ServerSet& set) : roster_(set) {}

  std::unique_ptr<Picker> makePicker() const override;
  Algorithm algorithm() const override { return Algorithm::RoundRobin; }
  const Roster& roster() const { return roster_; }

 private:
  Roster roster_;
};

class RoundRobinPicker final : public Picker {
 public:
  explicit RoundRobinPicker(std::shared_ptr<const RoundRobinBalancer> balancer)
      : balancer_(std::move(balancer)), current_(balancer_->roster().members.size(), 0) {}

  // Picker
  void rank(const PickInput& input, std::size_t want, Candidates& out) override {
    out.count = 0;
    const Roster& roster = balancer_->roster();
    const ServerLoad& load = *input.load;
    if (want == 0) return;
    int64_t total = 0;
    std::size_t best = kNone;
    for (std::size_t m = 0; m < roster.members.size(); ++m) {
      const uint32_t server = roster.members[m];
      if (roster.isFull(server, load)) continue;
      current_[m] += roster.weights[server];
      total += roster.weights[server];
      if (best == kNone || current_[m] > current_[best]) best = m;
    }
    if (best == kNone) return;
    current_[best] -= total;
    push(out, roster.members[best]);
    if (want == 1) return;
    BestOf<int64_t> rest(want - 1);  // smallest key first, so offer -current
    for (std::size_t m = 0; m < roster.members.size(); ++m) {
      const uint32_t server = roster.members[m];
      if (m != best && !roster.isFull(server, load)) rest.offer(-current_[m], server);
    }
    rest.appendTo(out);
  }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::shared_ptr<const RoundRobinBalancer> balancer_;
  std::vector<int64_t> current_;  // per member position
};

std::unique_ptr<Picker> RoundRobinBalancer::makePicker() const {
  return std::make_unique<RoundRobinPicker>(shared_from_this());
}

}  // namespace

BalancerPtr makeRoundRobin(const ServerSet& set) { return std::make_shared<RoundRobinBalancer>(set); }

}  // namespace ringlb::lb::detail
