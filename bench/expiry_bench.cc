// What the worker's expiry queue costs per connection, measured on its own: the bound on what any
// other timer structure (a timer wheel) could save on the close workload (issue 12's last
// untried user-code lever). Each iteration is one connection of that workload as the worker
// drives the table: allocate, queue the connect deadline, queue the relaying deadline (which
// rides on the connect's entry), free, and pop what is due at the turn's clock, with `live`
// other sessions open throughout. BM_SessionWithoutExpiry is the same connection with no
// deadline queued: the difference between the two is the queue's whole cost.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "ringlb/proxy/SessionTable.h"

namespace {

using namespace ringlb;
using proxy::Clock;
using proxy::SessionState;

constexpr auto kConnectTimeout = std::chrono::seconds(5);   // the default
constexpr auto kServerTimeout = std::chrono::seconds(60);   // the default
constexpr auto kConnectionGap = std::chrono::microseconds(80);  // ~12k connections/s per worker

void run(benchmark::State& state, bool withExpiry) {
  proxy::SessionTable table;
  Clock::time_point now{};
  const auto live = static_cast<std::size_t>(state.range(0));
  for (std::size_t i = 0; i < live; ++i) {
    const uint32_t slot = table.allocate();
    table.at(slot).state = SessionState::Relaying;
    if (withExpiry) table.scheduleExpiry(slot, now + kServerTimeout);
  }
  uint64_t popped = 0;
  for (auto _ : state) {
    now += kConnectionGap;
    const uint32_t slot = table.allocate();
    proxy::Session& s = table.at(slot);
    s.state = SessionState::Connecting;
    if (withExpiry) table.scheduleExpiry(slot, now + kConnectTimeout);
    s.state = SessionState::Relaying;
    if (withExpiry) table.scheduleExpiry(slot, now + kServerTimeout);
    s.state = SessionState::Closing;
    table.release(slot);
    if (withExpiry) {
      // Only the long-lived sessions come out current: their deadline moved with their
      // traffic (as the worker finds on popping one), so it goes back in the queue.
      while (const auto due = table.popExpired(now)) {
        table.scheduleExpiry(*due, now + kServerTimeout);
        ++popped;
      }
    }
    benchmark::DoNotOptimize(table.live());
  }
  state.counters["queued"] = static_cast<double>(table.queuedExpiries());
  state.counters["popped"] = static_cast<double>(popped);
}

void BM_SessionWithExpiry(benchmark::State& state) { run(state, true); }
void BM_SessionWithoutExpiry(benchmark::State& state) { run(state, false); }

BENCHMARK(BM_SessionWithExpiry)->Arg(64)->Arg(1024)->Arg(10000);
BENCHMARK(BM_SessionWithoutExpiry)->Arg(64)->Arg(1024)->Arg(10000);

}  // namespace

BENCHMARK_MAIN();
