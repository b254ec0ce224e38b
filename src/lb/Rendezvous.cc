// rendezvous (the default): weighted highest-random-weight hashing through a precomputed table
// (include/ringlb/lb/RendezvousTable.h), so a pick costs one row read whatever the server count.
//
// Contracts: the Balancer (table + roster) is built on the control thread and immutable; each
// worker's Picker is stateless beyond a reference that keeps the Balancer alive, so a Picker may
// outlive the snapshot it came from without dangling.
//
// Ranking for a key: the row's stored ranking, skipping servers that are ineligible or at
// max_connections (both read live from LiveServers). The table ranks every member whatever its
// health, so a server going down moves only its own clients (each to its next-ranked server) and
// takes them back when it recovers; no client of a healthy server ever moves (GLB Director's
// property). If the row is exhausted before `want` candidates, the fallback walks the members in
// config order starting at a per-row position (fallbackStart, a hash of the row) and wrapping,
// skipping unavailable servers and ones already chosen. It is deterministic for a given state,
// spreads different rows' overflow over different servers, and only runs once 8 ranked servers
// are all unavailable or when there are fewer available servers than candidates wanted.
#include <memory>

#include "Roster.h"
#include "ringlb/lb/RendezvousTable.h"

namespace ringlb::lb::detail {
namespace {

class RendezvousBalancer final : public Balancer,
                                 public std::enable_shared_from_this<RendezvousBalancer> {
 public:
  RendezvousBalancer(const ServerSet& set, uint64_t seed)
      : roster_(set), table_(RendezvousTable::build(set, seed)) {}
  // From the table of `previous`, when only weights changed (RendezvousTable::rebuild).
  RendezvousBalancer(const ServerSet& set, uint64_t seed, const RendezvousBalancer& previous)
      : roster_(set), table_(RendezvousTable::rebuild(previous.table_, set, seed)) {}

  std::unique_ptr<Picker> makePicker() const override;
  Algorithm algorithm() const override { return Algorithm::Rendezvous; }

  void rank(const PickInput& input, std::size_t want, Candidates& out) const {
    out.count = 0;
    if (want > kMaxCandidates) want = kMaxCandidates;
    const LiveServers& live = *input.live;
    const std::size_t r = table_.rowOf(input.keyHash);
    for (uint32_t server : table_.row(r)) {
      if (out.count == want) return;
      if (!roster_.unavailable(server, live)) push(out, server);
    }
    const auto members = table_.members();
    if (out.count == want || members.size() == table_.depth()) return;  // every member was seen
    std::size_t at = table_.fallbackStart(r);
    for (std::size_t step = 0; step < members.size() && out.count < want; ++step) {
      const uint32_t server = members[at];
      if (!roster_.unavailable(server, live) && !contains(out, server)) push(out, server);
      if (++at == members.size()) at = 0;
    }
  }

 private:
  Roster roster_;
  RendezvousTable table_;
};

class RendezvousPicker final : public Picker {
 public:
  explicit RendezvousPicker(std::shared_ptr<const RendezvousBalancer> balancer)
      : balancer_(std::move(balancer)) {}

  // Picker
  void rank(const PickInput& input, std::size_t want, Candidates& out) override {
    balancer_->rank(input, want, out);
  }

 private:
  std::shared_ptr<const RendezvousBalancer> balancer_;
};

std::unique_ptr<Picker> RendezvousBalancer::makePicker() const {
  return std::make_unique<RendezvousPicker>(shared_from_this());
}

}  // namespace

BalancerPtr makeRendezvous(const ServerSet& set, uint64_t seed, const Balancer* previous) {
  if (const auto* before = dynamic_cast<const RendezvousBalancer*>(previous)) {
    return std::make_shared<RendezvousBalancer>(set, seed, *before);
  }
  return std::make_shared<RendezvousBalancer>(set, seed);
}

}  // namespace ringlb::lb::detail
