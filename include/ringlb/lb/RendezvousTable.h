#pragma once
// The precomputed weighted-rendezvous lookup table (GLB Director's scheme), exposed so tests can
// check it against the plain definition and the benchmarks can vary its size.
//
// Rendezvous hashing ranks, for each key, every server by a pseudo-random score of (key, server)
// and takes the best. Here the "key" is a table row: a client maps to row = top rowBits of its
// key hash (never dependent on the server set), and each row stores its first `depth` servers in
// score order. A pick is then one row read, whatever the number of servers.
//
// Score: ln(u) / weight, larger is better, with u in (0,1) from mix64(rowKey ^ serverKey) and
// serverKey = hash(name, seed). This is an exponential race, so a server wins a fraction
// weight / sum(weights) of the rows. Because a score depends only on (row, server), two servers
// keep their relative order whatever other servers exist: removing a server changes only the
// rows it led, adding one changes only the rows it now leads, and the ranking does not depend on
// config order (ties, which need equal 52-bit hashes, break by serverKey then index).
//
// Parameters (measured in docs/benchmarks.md, "Balancers"):
//   rows = 2^16 (as GLB): the unit of both weighting and movement. With N servers a server owns
//     about 65536/N rows, so shares are exact to ~1/sqrt(65536/N) of themselves: <1% at 16
//     servers, ~25% at 4096. Fewer rows make rebuilds faster but weights coarser.
//   depth = kMaxCandidates (8): enough for the default retries (2) plus servers skipped as down
//     or full (a row whose 8 are all unavailable falls back to a walk over the members);
//     a row is 8 x uint32 = 32 bytes, half a cache line. Memory: 2 MiB per backend whatever N.
//   Build: O(rows x N); each (row, server) costs one mix64 and a multiply, the logarithm is taken
//     only for the few servers that can enter the row's top `depth` (ln(u) <= u - 1 rejects the
//     rest). ~0.7 s CPU for 4096 servers on the 2-core dev machine, off the data path.
//
// Thread contract: built on the control thread, immutable afterwards, read concurrently by every
// worker without synchronisation (publication through the snapshot provides the ordering).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ringlb/lb/Balancer.h"

namespace ringlb::lb {

class RendezvousTable {
 public:
  static constexpr unsigned kDefaultRowBits = 16;
  static constexpr unsigned kMinRowBits = 1;
  static constexpr unsigned kMaxRowBits = 24;
  static constexpr std::size_t kDepth = kMaxCandidates;

  // Members are the servers with weight > 0 (weight 0 are left out entirely); eligibility is not
  // the table's business (picks skip ineligible servers live), so health never rebuilds it.
  // rowBits is clamped to [kMinRowBits, kMaxRowBits]; production always uses the default (tests
  // and benchmarks vary it).
  static RendezvousTable build(const ServerSet& servers, uint64_t seed,
                               unsigned rowBits = kDefaultRowBits);
  // The same table as build(servers, seed, old.rowBits()), computed from `old` when only some
  // weights changed (same members: the same servers of weight > 0, same names, same order, same
  // seed). A score depends only on (row, server), so a row holding no changed server keeps its
  // servers in their order, and only a changed server can enter it: one score per changed server
  // decides. Rows holding a changed server are recomputed in full. For one changed server of N
  // that is ~depth/N of the rows: a weight change on a 1,000-server backend costs milliseconds
  // instead of a whole build. Anything else (members added or removed, another seed, more than a
  // quarter of the members changed) falls back to build().
  static RendezvousTable rebuild(const RendezvousTable& old, const ServerSet& servers, uint64_t seed);

  std::size_t rows() const { return std::size_t{1} << rowBits_; }
  unsigned rowBits() const { return rowBits_; }
  // Servers stored per row: min(kDepth, members().size()).
  std::size_t depth() const { return depth_; }
  std::size_t rowOf(uint64_t keyHash) const { return static_cast<std::size_t>(keyHash >> (64 - rowBits_)); }
  // Server indexes (into ServerSet::servers), best first.
  std::span<const uint32_t> row(std::size_t r) const { return {entries_.data() + r * depth_, depth_}; }
  // Eligible, weight > 0 servers in config order.
  std::span<const uint32_t> members() const { return members_; }
  // Where the deterministic fallback walk over members() starts for row r (see Rendezvous.cc).
  std::size_t fallbackStart(std::size_t r) const;
  // The full ranking of row r over all members, computed the slow, obvious way (score every
  // member, sort). The table must equal its prefix; tests check that.
  std::vector<uint32_t> rankRow(std::size_t r) const;

 private:
  uint64_t rowKey(std::size_t r) const;
  // Members and their keys and weights for `servers`; rows left empty.
  static RendezvousTable prepare(const ServerSet& servers, uint64_t seed, unsigned rowBits);
  // Fills row r from scratch (every member scored).
  void computeRow(std::size_t r);

  unsigned rowBits_ = kDefaultRowBits;
  std::size_t depth_ = 0;
  uint64_t rowSeed_ = 0;
  std::vector<uint32_t> members_;
  std::vector<uint64_t> memberKeys_;   // per member position: hash(name, seed)
  std::vector<double> memberInvWeight_;  // per member position: 1 / weight
  std::vector<uint32_t> entries_;      // rows() x depth_, row-major
};

}  // namespace ringlb::lb
