// first: HAProxy's "first". The first server in config order below its max_connections takes the
// connection; only when it is full does the next one get any. This packs load onto as few
// servers as possible (so idle ones can be powered down or scaled in). Failover candidates are
// the following available servers in config order.
//
// max_connections 0 means unlimited, so with `first` such a server is never full and takes every
// connection: servers after it receive traffic only when it is ineligible. Give each server a
// max_connections for `first` to spread anything at all. weight only matters as 0 = no new
// connections.
//
// Contracts: the Balancer (Roster) is immutable and shared; the Picker holds no state of its own.
// O(position of the first non-full server) per pick.
#include <memory>

#include "Roster.h"

namespace ringlb::lb::detail {
namespace {

class FirstBalancer final : public Balancer, public std::enable_shared_from_this<FirstBalancer> {
 public:
  explicit FirstBalancer(const ServerSet& set) : roster_(set) {}

  std::unique_ptr<Picker> makePicker() const override;
  Algorithm algorithm() const override { return Algorithm::First; }
  const Roster& roster() const { return roster_; }

 private:
  Roster roster_;
};

class FirstPicker final : public Picker {
 public:
  explicit FirstPicker(std::shared_ptr<const FirstBalancer> balancer)
      : balancer_(std::move(balancer)) {}

  // Picker
  void rank(const PickInput& input, std::size_t want, Candidates& out) override {
    out.count = 0;
    if (want > kMaxCandidates) want = kMaxCandidates;
    const Roster& roster = balancer_->roster();
    for (uint32_t server : roster.members) {
      if (out.count == want) return;
      if (!roster.isFull(server, *input.load)) push(out, server);
    }
  }

 private:
  std::shared_ptr<const FirstBalancer> balancer_;
};

std::unique_ptr<Picker> FirstBalancer::makePicker() const {
  return std::make_unique<FirstPicker>(shared_from_this());
}

}  // namespace

BalancerPtr makeFirst(const ServerSet& set) { return std::make_shared<FirstBalancer>(set); }

}  // namespace ringlb::lb::detail
