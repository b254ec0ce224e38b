// leastconn: the server with the fewest active connections relative to its weight, i.e. the
// smallest (active + 1) / weight; ties go round robin so equally loaded servers take turns.
//
// Why the counts are shared (LiveServers, one per server, relaxed atomics) rather than per
// worker: a server's load is every connection to it, whichever worker made it. Per-worker counts
// would each see a fraction and max_connections could not be enforced at all. Relaxed ordering is
// enough because the counts publish no other data: they only steer the next choice, and a stale
// read (another worker's acquire not yet visible) shifts at most that one pick.
//
// Contracts: the Balancer (Roster) is immutable and shared; the Picker owns only the round-robin
// cursor (per worker, no locks). Candidates are ranked by the same key, so failover goes to the
// next least loaded. O(N) per pick.
#include <algorithm>
#include <memory>

#include "Roster.h"

namespace ringlb::lb::detail {
namespace {

class LeastConnPicker final : public RosterPicker {
 public:
  using RosterPicker::RosterPicker;

  // Picker
  void rank(const PickInput& input, std::size_t want, Candidates& out) override {
    out.count = 0;
    const Roster& roster = this->roster();
    const LiveServers& live = *input.live;
    const std::size_t members = roster.members.size();
    if (members == 0) return;
    // Offering from the cursor onwards makes BestOf's stable ties fall to the next in turn.
    BestOf<double> best(want);
    std::size_t m = cursor_ < members ? cursor_ : 0;
    for (std::size_t step = 0; step < members; ++step) {
      const uint32_t server = roster.members[m];
      if (!roster.unavailable(server, live)) {
        best.offer(relativeLoad(live.active(server), roster.weights[server]), server);
      }
      if (++m == members) m = 0;
    }
    best.appendTo(out);
    if (out.count > 0) cursor_ = positionAfter(roster, out.index[0]);
  }

 private:
  // The member position following `server`. Members are in ascending server order.
  static std::size_t positionAfter(const Roster& roster, uint32_t server) {
    const auto it = std::lower_bound(roster.members.begin(), roster.members.end(), server);
    const std::size_t next = static_cast<std::size_t>(it - roster.members.begin()) + 1;
    return next == roster.members.size() ? 0 : next;
  }

  std::size_t cursor_ = 0;  // member position where the next tie-break scan starts
};

}  // namespace

BalancerPtr makeLeastConn(const ServerSet& set) {
  return std::make_shared<RosterBalancer<LeastConnPicker, Algorithm::LeastConn>>(set);
}

}  // namespace ringlb::lb::detail
