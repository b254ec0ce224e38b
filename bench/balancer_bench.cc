// Balancer costs: selection per connection across server counts (the rendezvous table should be
// flat), table rebuild time against the row count, and the fraction of keys moved when one
// server leaves beside the 1/N optimum. Figures and the command: docs/benchmarks.md, "Balancers".
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ringlb/lb/Balancer.h"
#include "ringlb/lb/Hash.h"
#include "ringlb/lb/RendezvousTable.h"

using namespace ringlb::lb;

namespace {

constexpr std::size_t kWant = 3;  // choice + the default 2 retries

// N servers with varied weights (50..149), so the weighted paths are exercised.
ServerSet makeServers(std::size_t count) {
  ServerSet set;
  for (std::size_t i = 0; i < count; ++i) {
    set.servers.push_back({"server-" + std::to_string(i), static_cast<uint32_t>(50 + (i * 37) % 100)});
  }
  return set;
}

uint64_t keyHash(uint32_t i) {
  const std::array<uint8_t, 4> ip{10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                                  static_cast<uint8_t>(i)};
  return hashClientKey(ip, kDefaultHashSeed);
}

// Balancers are cached: building a 4096-server table each time the library re-runs a benchmark
// to size its iterations would dominate the run.
const BalancerPtr& cachedBalancer(Algorithm algorithm, std::size_t servers) {
  static std::map<std::pair<Algorithm, std::size_t>, BalancerPtr> cache;
  BalancerPtr& slot = cache[{algorithm, servers}];
  if (!slot) slot = makeBalancer(algorithm, makeServers(servers), kDefaultHashSeed);
  return slot;
}

// One pick of kWant ranked candidates per iteration, over 4096 distinct client keys, for
// range(0) servers; with range(1) = 1 every other server is down (ineligible, read live from
// its LiveServer record at each pick, as the workers do). Loads are small and uneven so
// leastconn and random compare real values; nothing is full.
void BM_Pick(benchmark::State& state, Algorithm algorithm) {
  const auto servers = static_cast<std::size_t>(state.range(0));
  const bool halfDown = state.range(1) != 0;
  const auto picker = cachedBalancer(algorithm, servers)->makePicker();
  LiveServers live(servers);
  for (std::size_t s = 0; s < servers; ++s) {
    for (std::size_t c = 0; c < s % 5; ++c) live.acquire(s);
    if (halfDown && s % 2 == 0) live.setEligible(s, false);
  }
  std::vector<uint64_t> keys(4096);
  for (uint32_t i = 0; i < keys.size(); ++i) keys[i] = keyHash(i);
  std::size_t i = 0;
  Candidates out;
  for (auto _ : state) {
    picker->rank({keys[i++ & 4095], &live}, kWant, out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
#define RINGLB_PICK_ARGS ArgsProduct({{2, 16, 256, 4096}, {0, 1}})->ArgNames({"servers", "half_down"})
BENCHMARK_CAPTURE(BM_Pick, rendezvous, Algorithm::Rendezvous)->RINGLB_PICK_ARGS;
BENCHMARK_CAPTURE(BM_Pick, roundrobin, Algorithm::RoundRobin)->RINGLB_PICK_ARGS;
BENCHMARK_CAPTURE(BM_Pick, leastconn, Algorithm::LeastConn)->RINGLB_PICK_ARGS;
BENCHMARK_CAPTURE(BM_Pick, random, Algorithm::Random)->RINGLB_PICK_ARGS;
BENCHMARK_CAPTURE(BM_Pick, first, Algorithm::First)->RINGLB_PICK_ARGS;
#undef RINGLB_PICK_ARGS

// The whole per-connection cost with rendezvous: hash the IPv4 client key, then pick.
void BM_HashAndPickRendezvous(benchmark::State& state) {
  const auto servers = static_cast<std::size_t>(state.range(0));
  const auto picker = cachedBalancer(Algorithm::Rendezvous, servers)->makePicker();
  const LiveServers live(servers);
  uint32_t i = 0;
  Candidates out;
  for (auto _ : state) {
    picker->rank({keyHash(i++), &live}, kWant, out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HashAndPickRendezvous)->Arg(2)->Arg(4096);

// Table build time for rows = 2^range(0) and range(1) servers. Counters: the table's memory, and
// how far the most over- or under-served server's share of rows is from its weight's share
// (the granularity cost of fewer rows), as root mean square over servers and the worst one.
void BM_TableBuild(benchmark::State& state) {
  const auto rowBits = static_cast<unsigned>(state.range(0));
  const auto servers = static_cast<std::size_t>(state.range(1));
  const ServerSet set = makeServers(servers);
  for (auto _ : state) {
    auto table = RendezvousTable::build(set, kDefaultHashSeed, rowBits);
    benchmark::DoNotOptimize(table);
  }
  const auto table = RendezvousTable::build(set, kDefaultHashSeed, rowBits);
  std::vector<double> rows(servers);
  for (std::size_t r = 0; r < table.rows(); ++r) rows[table.row(r)[0]] += 1;
  double totalWeight = 0;
  for (const ServerView& s : set.servers) totalWeight += s.weight;
  double worst = 0;
  double squares = 0;
  for (std::size_t s = 0; s < servers; ++s) {
    const double ideal = table.rows() * set.servers[s].weight / totalWeight;
    const double error = rows[s] / ideal - 1;
    worst = std::max(worst, std::abs(error));
    squares += error * error;
  }
  state.counters["table_KiB"] = double(table.rows() * table.depth() * sizeof(uint32_t)) / 1024;
  state.counters["share_err_rms"] = std::sqrt(squares / double(servers));
  state.counters["share_err_max"] = worst;
}
BENCHMARK(BM_TableBuild)
    ->ArgsProduct({{12, 14, 16}, {2, 16, 256, 4096}})
    ->Unit(benchmark::kMillisecond);

// A weight change of one server (alternating two values) rebuilt from the previous table
// (RendezvousTable::rebuild), against BM_TableBuild's full build: what a `set server ... weight`
// or a reload that changes one weight costs at 2^16 rows.
void BM_TableRebuildOneWeight(benchmark::State& state) {
  const auto servers = static_cast<std::size_t>(state.range(0));
  ServerSet set = makeServers(servers);
  RendezvousTable table = RendezvousTable::build(set, kDefaultHashSeed);
  const uint32_t original = set.servers[servers / 2].weight;
  bool flip = false;
  for (auto _ : state) {
    flip = !flip;
    set.servers[servers / 2].weight = flip ? original * 2 : original;
    table = RendezvousTable::rebuild(table, set, kDefaultHashSeed);
    benchmark::DoNotOptimize(table);
  }
}
BENCHMARK(BM_TableRebuildOneWeight)->Arg(16)->Arg(256)->Arg(1000)->Arg(4096)->Unit(benchmark::kMillisecond);

// Fraction of 1M client keys whose server changes when one of N servers leaves, against the
// 1/N optimum (for these weights: the leaver's weight share), and how many moved between two
// surviving servers (must be 0).
void BM_KeysMovedOnRemoval(benchmark::State& state) {
  const auto servers = static_cast<std::size_t>(state.range(0));
  const ServerSet before = makeServers(servers);
  ServerSet after = before;
  const std::size_t leaver = servers / 2;
  after.servers.erase(after.servers.begin() + static_cast<std::ptrdiff_t>(leaver));
  double moved = 0;
  double betweenSurvivors = 0;
  constexpr uint32_t kKeys = 1'000'000;
  for (auto _ : state) {
    const auto a = RendezvousTable::build(before, kDefaultHashSeed);
    const auto b = RendezvousTable::build(after, kDefaultHashSeed);
    moved = betweenSurvivors = 0;
    for (uint32_t i = 0; i < kKeys; ++i) {
      const uint64_t h = keyHash(i);
      const uint32_t was = a.row(a.rowOf(h))[0];
      uint32_t now = b.row(b.rowOf(h))[0];
      if (now >= leaver) ++now;  // back to `before`'s indexes
      if (was != now) {
        ++moved;
        if (was != leaver) ++betweenSurvivors;
      }
    }
  }
  double totalWeight = 0;
  for (const ServerView& s : before.servers) totalWeight += s.weight;
  state.counters["moved_fraction"] = moved / kKeys;
  state.counters["optimum_1_over_N"] = 1.0 / double(servers);
  state.counters["optimum_weighted"] = before.servers[leaver].weight / totalWeight;
  state.counters["moved_between_survivors"] = betweenSurvivors;
}
BENCHMARK(BM_KeysMovedOnRemoval)
    ->Arg(2)->Arg(16)->Arg(256)->Arg(4096)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
