// The rendezvous balancer and its table: the properties the design promises (weighted shares,
// minimal movement, agreement between instances) and the failover ranking.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ringlb/lb/Balancer.h"
#include "ringlb/lb/Hash.h"
#include "ringlb/lb/RendezvousTable.h"

using namespace ringlb::lb;

namespace {

constexpr int kKeys = 1'000'000;

ServerSet makeServers(std::initializer_list<uint32_t> weights) {
  ServerSet set;
  for (uint32_t w : weights) set.servers.push_back({"srv-" + std::to_string(set.servers.size()), w});
  return set;
}

ServerSet namedServers(int count) {
  ServerSet set;
  for (int i = 0; i < count; ++i) set.servers.push_back({"srv-" + std::to_string(i)});
  return set;
}

// The hash of client i: an IPv4 address 10.x.y.z.
uint64_t keyHash(uint32_t i, uint64_t seed = kDefaultHashSeed) {
  const std::array<uint8_t, 4> ip{10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                                  static_cast<uint8_t>(i)};
  return hashClientKey(ip, seed);
}

// The name of the server each of kKeys clients is sent to (empty when none), by `picker` with
// the servers' live state `live`.
std::vector<std::string> assignWith(const ServerSet& set, Picker& picker, const LiveServers& live,
                                    uint64_t seed = kDefaultHashSeed) {
  std::vector<std::string> names(kKeys);
  Candidates out;
  for (int i = 0; i < kKeys; ++i) {
    picker.rank({keyHash(static_cast<uint32_t>(i), seed), &live}, 1, out);
    if (out.count == 1) names[i] = set.servers[out.index[0]].name;
  }
  return names;
}

// The same with a fresh balancer and every server eligible.
std::vector<std::string> assign(const ServerSet& set, uint64_t seed = kDefaultHashSeed) {
  const BalancerPtr balancer = makeBalancer(Algorithm::Rendezvous, set, seed);
  const auto picker = balancer->makePicker();
  const LiveServers live(set.servers.size());
  return assignWith(set, *picker, live, seed);
}

}  // namespace

// Each server receives keys in proportion to its weight, within 1 percentage point over 1M keys
// (row sampling alone gives sigma ~0.2 points with 65536 rows).
TEST(RendezvousTest, WeightsGiveProportionalShares) {
  const ServerSet set = makeServers({100, 200, 300, 400, 0});
  std::map<std::string, int> count;
  for (const std::string& name : assign(set)) ++count[name];
  EXPECT_NEAR(count["srv-0"] / double(kKeys), 0.1, 0.01);
  EXPECT_NEAR(count["srv-1"] / double(kKeys), 0.2, 0.01);
  EXPECT_NEAR(count["srv-2"] / double(kKeys), 0.3, 0.01);
  EXPECT_NEAR(count["srv-3"] / double(kKeys), 0.4, 0.01);
  EXPECT_EQ(count.count("srv-4"), 0u);  // weight 0: nothing
}

// Removing one of N servers moves exactly the keys it had; no key moves between survivors, and
// the moved fraction is close to the 1/N optimum.
TEST(RendezvousTest, RemovingServerMovesOnlyItsKeys) {
  const ServerSet before = namedServers(10);
  ServerSet after = before;
  after.servers.erase(after.servers.begin() + 3);
  const auto a = assign(before);
  const auto b = assign(after);
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (a[i] == "srv-3") {
      ++moved;
    } else {
      ASSERT_EQ(a[i], b[i]) << "key " << i << " moved between survivors";
    }
  }
  EXPECT_NEAR(moved / double(kKeys), 0.1, 0.01);
}

// Adding a server moves keys only to the new server, about 1/(N+1) of them.
TEST(RendezvousTest, AddingServerMovesKeysOnlyToIt) {
  const ServerSet before = namedServers(10);
  ServerSet after = before;
  after.servers.push_back({"srv-new"});
  const auto a = assign(before);
  const auto b = assign(after);
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (a[i] != b[i]) {
      ASSERT_EQ(b[i], "srv-new") << "key " << i << " moved between old servers";
      ++moved;
    }
  }
  EXPECT_NEAR(moved / double(kKeys), 1.0 / 11, 0.01);
}

// A server going down (read live, no rebuild) is the same as removing it: identical choices for
// every key, so only its own clients move. When it comes back, every client returns to where it
// was: the same balancer, with the same table, gives the original assignment again.
TEST(RendezvousTest, DownServerMovesOnlyItsClientsAndTakesThemBack) {
  const ServerSet set = namedServers(6);
  const BalancerPtr balancer = makeBalancer(Algorithm::Rendezvous, set, kDefaultHashSeed);
  const auto picker = balancer->makePicker();
  LiveServers live(set.servers.size());
  const auto before = assignWith(set, *picker, live);

  live.setEligible(2, false);
  const auto down = assignWith(set, *picker, live);
  ServerSet removed = namedServers(6);
  removed.servers.erase(removed.servers.begin() + 2);
  EXPECT_EQ(down, assign(removed));
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (before[i] != down[i]) {
      ASSERT_EQ(before[i], "srv-2") << "key " << i << " of a healthy server moved";
      ++moved;
    }
  }
  EXPECT_NEAR(moved / double(kKeys), 1.0 / 6, 0.01) << "the down server's clients moved";

  live.setEligible(2, true);
  EXPECT_EQ(assignWith(set, *picker, live), before);
}

// With half of 64 servers down, every key still gets a candidate list of available servers
// only (the rows' 8 ranked servers may all be down: the fallback walk covers those).
TEST(RendezvousTest, HalfDownStillRanksOnlyAvailableServers) {
  const ServerSet set = namedServers(64);
  const BalancerPtr balancer = makeBalancer(Algorithm::Rendezvous, set, kDefaultHashSeed);
  const auto picker = balancer->makePicker();
  LiveServers live(set.servers.size());
  for (std::size_t i = 0; i < set.servers.size(); i += 2) live.setEligible(i, false);
  Candidates out;
  for (uint32_t i = 0; i < 100000; ++i) {
    picker->rank({keyHash(i), &live}, 3, out);
    ASSERT_EQ(out.count, 3u) << "key " << i;
    for (std::size_t c = 0; c < out.count; ++c) {
      ASSERT_EQ(out.index[c] % 2, 1u) << "key " << i << " ranked a down server";
    }
  }
}

// Two independently built balancers with the same seed and servers agree on every key, so
// instances behind ECMP need no shared state. Config order does not matter either.
TEST(RendezvousTest, SameSeedAndServersAgree) {
  const ServerSet set = makeServers({100, 50, 300, 100, 1000});
  ServerSet reversed = set;
  std::reverse(reversed.servers.begin(), reversed.servers.end());
  const auto first = assign(set);
  EXPECT_EQ(first, assign(set));
  EXPECT_EQ(first, assign(reversed));
}

// A different hash_seed gives an unrelated assignment: with 4 servers about 1/4 of keys keep
// their server by chance.
TEST(RendezvousTest, DifferentSeedsDiffer) {
  const ServerSet set = namedServers(4);
  const auto a = assign(set, 1);
  const auto b = assign(set, 2);
  int same = 0;
  for (int i = 0; i < kKeys; ++i) same += a[i] == b[i];
  EXPECT_NEAR(same / double(kKeys), 0.25, 0.02);
}

// Every row of the table is the prefix of the full rendezvous ranking computed the obvious way
// (this checks the build's shortcut that skips the logarithm).
TEST(RendezvousTest, TableRowsArePrefixOfFullRanking) {
  ServerSet set;
  for (int i = 0; i < 300; ++i) {
    set.servers.push_back({"s" + std::to_string(i), static_cast<uint32_t>(1 + (i * 37) % 1000)});
  }
  set.servers[5].weight = 0;  // not a member: never ranked
  const auto table = RendezvousTable::build(set, 42, 10);
  ASSERT_EQ(table.depth(), RendezvousTable::kDepth);
  for (std::size_t r = 0; r < table.rows(); ++r) {
    const auto full = table.rankRow(r);
    const auto row = table.row(r);
    ASSERT_TRUE(std::equal(row.begin(), row.end(), full.begin())) << "row " << r;
  }
}

// A key's row depends only on its hash, never on the servers.
TEST(RendezvousTest, RowDoesNotDependOnServers) {
  const auto small = RendezvousTable::build(namedServers(2), 1);
  const auto large = RendezvousTable::build(namedServers(100), 1);
  for (uint32_t i = 0; i < 1000; ++i) EXPECT_EQ(small.rowOf(keyHash(i)), large.rowOf(keyHash(i)));
}

// The candidates are distinct and are the row's ranking: failover follows rendezvous order.
TEST(RendezvousTest, CandidatesAreTheRowRanking) {
  const ServerSet set = makeServers({100, 200, 100, 300, 100, 100, 50, 100, 100, 100});
  const auto table = RendezvousTable::build(set, kDefaultHashSeed);
  const auto picker = makeBalancer(Algorithm::Rendezvous, set, kDefaultHashSeed)->makePicker();
  const LiveServers load(set.servers.size());
  for (uint32_t i = 0; i < 1000; ++i) {
    Candidates out;
    picker->rank({keyHash(i), &load}, kMaxCandidates, out);
    const auto row = table.row(table.rowOf(keyHash(i)));
    ASSERT_EQ(out.count, kMaxCandidates);
    EXPECT_TRUE(std::equal(row.begin(), row.end(), out.index.begin()));
  }
}

// A full server is skipped and the rest of the row keeps its order.
TEST(RendezvousTest, FullServerIsSkippedInRankingOrder) {
  ServerSet set = namedServers(5);
  for (auto& s : set.servers) s.maxConnections = 1;
  const auto table = RendezvousTable::build(set, kDefaultHashSeed);
  const auto picker = makeBalancer(Algorithm::Rendezvous, set, kDefaultHashSeed)->makePicker();
  LiveServers load(set.servers.size());
  const auto row = table.row(table.rowOf(keyHash(7)));
  load.acquire(row[0]);
  Candidates out;
  picker->rank({keyHash(7), &load}, 3, out);
  ASSERT_EQ(out.count, 3u);
  EXPECT_EQ(out.index[0], row[1]);
  EXPECT_EQ(out.index[1], row[2]);
  EXPECT_EQ(out.index[2], row[3]);
}

// When all of a row's ranked servers are full, the fallback still finds the free ones, the same
// way on every call; when every server is full there is no candidate.
TEST(RendezvousTest, ExhaustedRowFallsBackDeterministically) {
  ServerSet set = namedServers(12);
  for (auto& s : set.servers) s.maxConnections = 1;
  const auto table = RendezvousTable::build(set, kDefaultHashSeed);
  const auto picker = makeBalancer(Algorithm::Rendezvous, set, kDefaultHashSeed)->makePicker();
  LiveServers load(set.servers.size());
  for (uint32_t server : table.row(table.rowOf(keyHash(7)))) load.acquire(server);
  Candidates out;
  picker->rank({keyHash(7), &load}, 8, out);
  ASSERT_EQ(out.count, 4u);  // the 12 - 8 servers outside the row
  Candidates again;
  picker->rank({keyHash(7), &load}, 8, again);
  EXPECT_TRUE(std::equal(out.index.begin(), out.index.begin() + 4, again.index.begin()));
  for (std::size_t i = 0; i < out.count; ++i) load.acquire(out.index[i]);
  picker->rank({keyHash(7), &load}, 8, out);
  EXPECT_EQ(out.count, 0u);
}

namespace {
// Every row of `a` equals `b`'s.
::testing::AssertionResult sameTable(const RendezvousTable& a, const RendezvousTable& b) {
  if (a.rows() != b.rows() || a.depth() != b.depth()) return ::testing::AssertionFailure() << "shape differs";
  for (std::size_t r = 0; r < a.rows(); ++r) {
    const auto x = a.row(r);
    const auto y = b.row(r);
    if (!std::equal(x.begin(), x.end(), y.begin())) return ::testing::AssertionFailure() << "row " << r << " differs";
  }
  return ::testing::AssertionSuccess();
}
}  // namespace

// The incremental rebuild after weight changes (up, down, several at once, to and from the
// extremes) gives exactly the table a full build gives, row for row.
TEST(RendezvousTest, RebuildAfterWeightChangesEqualsAFullBuild) {
  ServerSet set;
  for (int i = 0; i < 200; ++i) {
    set.servers.push_back({"s" + std::to_string(i), static_cast<uint32_t>(1 + (i * 37) % 1000)});
  }
  RendezvousTable table = RendezvousTable::build(set, 42, 12);
  const std::vector<std::vector<std::pair<int, uint32_t>>> steps = {
      {{17, 1000}},                         // one server up to the maximum
      {{17, 1}},                            // the same server down to the minimum
      {{3, 500}, {150, 2}, {199, 999}},     // several at once, both directions
      {{0, 1}, {1, 1}, {2, 1}, {4, 1000}},  // more
  };
  for (std::size_t step = 0; step < steps.size(); ++step) {
    for (const auto& [server, weight] : steps[step]) set.servers[static_cast<std::size_t>(server)].weight = weight;
    RendezvousTable next = RendezvousTable::rebuild(table, set, 42);
    ASSERT_TRUE(sameTable(next, RendezvousTable::build(set, 42, 12))) << "step " << step;
    table = std::move(next);
  }
}

// Anything but a weight change among the same members (a member removed by weight 0, a new
// server, another seed) is a full build, and still exactly right.
TEST(RendezvousTest, RebuildFallsBackToAFullBuildWhenMembersChange) {
  ServerSet set = namedServers(50);
  const RendezvousTable table = RendezvousTable::build(set, 7, 10);
  ServerSet zero = set;
  zero.servers[10].weight = 0;
  EXPECT_TRUE(sameTable(RendezvousTable::rebuild(table, zero, 7), RendezvousTable::build(zero, 7, 10)));
  ServerSet more = set;
  more.servers.push_back({"extra", 100});
  EXPECT_TRUE(sameTable(RendezvousTable::rebuild(table, more, 7), RendezvousTable::build(more, 7, 10)));
  EXPECT_TRUE(sameTable(RendezvousTable::rebuild(table, set, 8), RendezvousTable::build(set, 8, 10)));
}
