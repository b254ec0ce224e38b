// Behaviour every algorithm shares (eligibility, weight 0, max_connections, distinct ranked
// candidates) and each non-hashing algorithm's own rule.
#include "ringlb/lb/Balancer.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "ringlb/lb/Hash.h"

using namespace ringlb::lb;

namespace {

ServerSet servers(std::initializer_list<uint32_t> weights) {
  ServerSet set;
  for (uint32_t w : weights) set.servers.push_back({"srv-" + std::to_string(set.servers.size()), w});
  return set;
}

std::unique_ptr<Picker> pickerFor(Algorithm algorithm, const ServerSet& set) {
  return makeBalancer(algorithm, set, kDefaultHashSeed)->makePicker();
}

// The first choice of `picks` successive connections.
std::vector<uint32_t> choices(Picker& picker, const LiveServers& load, int picks) {
  std::vector<uint32_t> out;
  for (int i = 0; i < picks; ++i) {
    Candidates c;
    picker.rank({mix64(static_cast<uint64_t>(i)), &load}, 1, c);
    out.push_back(c.count == 1 ? c.index[0] : 999);
  }
  return out;
}

class EveryAlgorithm : public testing::TestWithParam<Algorithm> {};

}  // namespace

INSTANTIATE_TEST_SUITE_P(BalancerTest, EveryAlgorithm,
                         testing::Values(Algorithm::Rendezvous, Algorithm::RoundRobin,
                                         Algorithm::LeastConn, Algorithm::Random, Algorithm::First),
                         [](const auto& param) { return std::string(algorithmName(param.param)); });

// The factory builds the algorithm it was asked for.
TEST_P(EveryAlgorithm, ReportsItsAlgorithm) {
  EXPECT_EQ(makeBalancer(GetParam(), servers({100}), 1)->algorithm(), GetParam());
}

// Ineligible, weight-0 and full servers never receive a connection, whatever the key.
TEST_P(EveryAlgorithm, SkipsIneligibleWeightZeroAndFullServers) {
  ServerSet set = servers({100, 0, 100, 100});
  set.servers[2].maxConnections = 2;
  LiveServers load(set.servers.size());
  load.setEligible(0, false);
  load.acquire(2);
  load.acquire(2);
  auto picker = pickerFor(GetParam(), set);
  for (int i = 0; i < 2000; ++i) {
    Candidates out;
    picker->rank({mix64(static_cast<uint64_t>(i)), &load}, kMaxCandidates, out);
    ASSERT_EQ(out.count, 1u);
    EXPECT_EQ(out.index[0], 3u);
  }
}

// Eligibility is read live: a server marked down gets nothing from the same picker, and once
// marked up again it is picked again, without any balancer rebuild.
TEST_P(EveryAlgorithm, IneligibleServerComesBackWithoutRebuild) {
  const ServerSet set = servers({100, 100});
  LiveServers live(set.servers.size());
  auto picker = pickerFor(GetParam(), set);
  live.setEligible(0, false);
  for (uint32_t s : choices(*picker, live, 500)) ASSERT_EQ(s, 1u);
  live.setEligible(0, true);
  int zero = 0;
  for (uint32_t s : choices(*picker, live, 500)) zero += s == 0;
  EXPECT_GT(zero, 0) << "the server that came back is never picked";
}

// With nothing available there is no candidate (the caller refuses the connection).
TEST_P(EveryAlgorithm, NoCandidateWhenNothingIsAvailable) {
  ServerSet set = servers({100, 0});
  set.servers[0].maxConnections = 1;
  LiveServers load(set.servers.size());
  load.acquire(0);
  Candidates out;
  pickerFor(GetParam(), set)->rank({1, &load}, 3, out);
  EXPECT_EQ(out.count, 0u);
  pickerFor(GetParam(), ServerSet{})->rank({1, &load}, 3, out);
  EXPECT_EQ(out.count, 0u);
}

// Candidates are distinct, at most `want`, and cover every available server when want allows.
TEST_P(EveryAlgorithm, CandidatesAreDistinctAndBounded) {
  const ServerSet set = servers({100, 300, 100, 50, 100});
  const LiveServers load(set.servers.size());
  auto picker = pickerFor(GetParam(), set);
  for (int i = 0; i < 500; ++i) {
    for (std::size_t want : {std::size_t{1}, std::size_t{3}, kMaxCandidates}) {
      Candidates out;
      picker->rank({mix64(static_cast<uint64_t>(i)), &load}, want, out);
      ASSERT_EQ(out.count, std::min(want, set.servers.size()));
      const std::set<uint32_t> distinct(out.index.begin(), out.index.begin() + out.count);
      EXPECT_EQ(distinct.size(), out.count);
      for (uint32_t s : distinct) EXPECT_LT(s, set.servers.size());
    }
  }
}

// Round robin follows nginx's smooth sequence: weights 5,1,1 give a a b a c a a, repeating.
TEST(RoundRobinTest, SmoothWeightedSequence) {
  auto picker = pickerFor(Algorithm::RoundRobin, servers({5, 1, 1}));
  const LiveServers load(3);
  const std::vector<uint32_t> cycle{0, 0, 1, 0, 2, 0, 0};
  std::vector<uint32_t> expected = cycle;
  expected.insert(expected.end(), cycle.begin(), cycle.end());
  EXPECT_EQ(choices(*picker, load, 14), expected);
}

// Round robin's failover candidates are the servers the sequence would choose next.
TEST(RoundRobinTest, FailoverIsWhatComesNext) {
  auto picker = pickerFor(Algorithm::RoundRobin, servers({5, 1, 1}));
  const LiveServers load(3);
  Candidates out;
  picker->rank({0, &load}, 3, out);  // currents after: a -2, b 1, c 1
  ASSERT_EQ(out.count, 3u);
  EXPECT_EQ(out.index[0], 0u);
  EXPECT_EQ(out.index[1], 1u);
  EXPECT_EQ(out.index[2], 2u);
}

// Each worker has its own sequence: a second picker starts from the beginning.
TEST(RoundRobinTest, PickersAreIndependent) {
  const BalancerPtr balancer = makeBalancer(Algorithm::RoundRobin, servers({1, 1}), 1);
  auto one = balancer->makePicker();
  auto two = balancer->makePicker();
  const LiveServers load(2);
  EXPECT_EQ(choices(*one, load, 3), (std::vector<uint32_t>{0, 1, 0}));
  EXPECT_EQ(choices(*two, load, 3), (std::vector<uint32_t>{0, 1, 0}));
}

// Leastconn takes the fewest active connections relative to weight: 10 on weight 200 beats 6 on
// weight 100 ((10+1)/200 < (6+1)/100).
TEST(LeastConnTest, PrefersFewestConnectionsRelativeToWeight) {
  auto picker = pickerFor(Algorithm::LeastConn, servers({100, 100, 200}));
  LiveServers load(3);
  for (int i = 0; i < 8; ++i) load.acquire(0);
  for (int i = 0; i < 6; ++i) load.acquire(1);
  for (int i = 0; i < 10; ++i) load.acquire(2);
  Candidates out;
  picker->rank({0, &load}, 3, out);
  ASSERT_EQ(out.count, 3u);
  EXPECT_EQ(out.index[0], 2u);
  EXPECT_EQ(out.index[1], 1u);  // failover: next least loaded
  EXPECT_EQ(out.index[2], 0u);
}

// Equally loaded servers take turns.
TEST(LeastConnTest, TiesGoRoundRobin) {
  auto picker = pickerFor(Algorithm::LeastConn, servers({100, 100, 100}));
  const LiveServers load(3);
  EXPECT_EQ(choices(*picker, load, 6), (std::vector<uint32_t>{0, 1, 2, 0, 1, 2}));
}

// Counts are shared: connections made through one worker's picker steer another worker's.
TEST(LeastConnTest, LoadIsSharedAcrossWorkers) {
  const BalancerPtr balancer = makeBalancer(Algorithm::LeastConn, servers({100, 100}), 1);
  auto workerA = balancer->makePicker();
  auto workerB = balancer->makePicker();
  LiveServers load(2);
  Candidates out;
  workerA->rank({0, &load}, 1, out);
  load.acquire(out.index[0]);
  const uint32_t taken = out.index[0];
  workerB->rank({0, &load}, 1, out);
  EXPECT_NE(out.index[0], taken);
}

// random(2) picks the less loaded of two draws, so a heavily loaded server is chosen only when
// no distinct second server could be drawn: rarely.
TEST(RandomTest, PrefersTheLessLoadedServer) {
  auto picker = pickerFor(Algorithm::Random, servers({100, 100}));
  LiveServers load(2);
  for (int i = 0; i < 100; ++i) load.acquire(0);
  int light = 0;
  for (uint32_t s : choices(*picker, load, 10000)) light += s == 1;
  EXPECT_GT(light, 9000);
}

// Draws follow the weights: with every relative load equal ((active+1)/weight = 0.01) the first
// draw is kept, so each server's share is its weight's share.
TEST(RandomTest, DrawsFollowWeights) {
  auto picker = pickerFor(Algorithm::Random, servers({100, 100, 100, 700}));
  LiveServers load(4);
  for (int i = 0; i < 6; ++i) load.acquire(3);
  std::vector<int> count(4);
  for (uint32_t s : choices(*picker, load, 40000)) ++count[s];
  EXPECT_NEAR(count[0] / 40000.0, 0.1, 0.01);
  EXPECT_NEAR(count[1] / 40000.0, 0.1, 0.01);
  EXPECT_NEAR(count[2] / 40000.0, 0.1, 0.01);
  EXPECT_NEAR(count[3] / 40000.0, 0.7, 0.01);
}

// first fills servers in config order up to their max_connections, then spills to the next;
// an unlimited server (max_connections 0) takes everything after that.
TEST(FirstTest, FillsInConfigOrder) {
  ServerSet set = servers({100, 100, 100, 100});
  set.servers[0].maxConnections = 2;
  set.servers[1].maxConnections = 3;
  set.servers[2].maxConnections = 0;
  auto picker = pickerFor(Algorithm::First, set);
  LiveServers load(4);
  std::vector<uint32_t> got;
  for (int i = 0; i < 8; ++i) {
    Candidates out;
    picker->rank({0, &load}, 1, out);
    ASSERT_EQ(out.count, 1u);
    load.acquire(out.index[0]);
    got.push_back(out.index[0]);
  }
  EXPECT_EQ(got, (std::vector<uint32_t>{0, 0, 1, 1, 1, 2, 2, 2}));
  load.release(0);
  Candidates out;
  picker->rank({0, &load}, 4, out);
  ASSERT_EQ(out.count, 3u);  // 0 has room again; 1 is full; then 2 and 3 in order
  EXPECT_EQ(out.index[0], 0u);
  EXPECT_EQ(out.index[1], 2u);
  EXPECT_EQ(out.index[2], 3u);
}
