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

class FirstPicker final : public RosterPicker {
 public:
  using RosterPicker::RosterPicker;

  // Picker
  void rank(const PickInput& input, std::size_t want, Candidates& out) override {
    out.count = 0;
    if (want > kMaxCandidates) want = kMaxCandidates;
    const Roster& roster = this->roster();
    for (uint32_t server : roster.members) {
      if (out.count == want) return;
      if (!roster.unavailable(server, *input.live)) push(out, server);
    }
  }
};

}  // namespace

BalancerPtr makeFirst(const ServerSet& set) {
  return std::make_shared<RosterBalancer<FirstPicker, Algorithm::First>>(set);
}

}  // namespace ringlb::lb::detail
