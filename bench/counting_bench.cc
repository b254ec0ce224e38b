// What counting costs the data path, measured on its own: the exact counter updates a worker
// makes for one keep-alive request (two relayed sends, each counted for its frontend and its
// server, plus the per-turn completion and submission counts), and for one connection of the
// close workload (accept, session start, backend open, connect with its histogram, two sends,
// free with its close reason and relay mode). Whole-process CPU A/Bs on this shared machine
// spread 10-15% run to run (docs/benchmarks.md), too coarse for a budget of 2%; this bounds the
// counting code's share directly. And what one scrape costs the control loop (buildModel) and
// the exposer (exposition + text), by number of servers.
#include <benchmark/benchmark.h>
#include <prometheus/text_serializer.h>

#include <memory>
#include <sstream>
#include <string>

#include "ringlb/config/Loader.h"
#include "ringlb/control/MetricsModel.h"
#include "ringlb/stats/Counters.h"
#include "ringlb/stats/Exposition.h"

namespace {

using namespace ringlb;

// Slots spread as a real process has them: a few frontends, many servers.
struct Fixture {
  std::unique_ptr<stats::WorkerCounters> counters = std::make_unique<stats::WorkerCounters>();
  Fixture() {
    counters->frontends.reserve(4);
    counters->backends.reserve(4);
    counters->servers.reserve(256);
  }
};

void BM_CountKeepAliveRequest(benchmark::State& state) {
  Fixture f;
  uint32_t server = 0;
  for (auto _ : state) {
    stats::WorkerCounters& c = *f.counters;
    server = (server + 37) & 255;
    // Relay::delivered, client -> server and server -> client.
    c.add(1, stats::FrontendStat::BytesIn, 78);
    c.add(server, stats::ServerStat::BytesIn, 78);
    c.add(1, stats::FrontendStat::BytesOut, 160);
    c.add(server, stats::ServerStat::BytesOut, 160);
    // Worker::loop, once per turn (a turn carries at least one request's completions).
    c.add(stats::WorkerStat::Completions, 4);
    c.add(stats::WorkerStat::Submissions, 4);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_CountKeepAliveRequest);

void BM_CountCloseConnection(benchmark::State& state) {
  Fixture f;
  uint32_t server = 0;
  for (auto _ : state) {
    stats::WorkerCounters& c = *f.counters;
    server = (server + 37) & 255;
    c.add(1, stats::FrontendStat::Accepted);
    c.add(1, stats::FrontendStat::Sessions);
    c.add(2, stats::BackendStat::Opened);
    c.connected(server, 180);
    c.add(1, stats::FrontendStat::BytesIn, 78);
    c.add(server, stats::ServerStat::BytesIn, 78);
    c.add(1, stats::FrontendStat::BytesOut, 160);
    c.add(server, stats::ServerStat::BytesOut, 160);
    c.add(1, stats::FrontendStat::Closed);
    c.add(2, stats::BackendStat::Closed);
    c.closed[1].add();
    c.add(stats::WorkerStat::CopyDirections, 2);
    c.add(stats::WorkerStat::Completions, 8);
    c.add(stats::WorkerStat::Submissions, 8);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_CountCloseConnection);

// One scrape over a backend of N servers and two workers: the model alone (what the control loop
// spends), or the whole scrape (the model, then the families and their text: the exposer's part).
void scrape(benchmark::State& state, bool modelOnly) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::string yaml = "frontends:\n  - { name: web, listen: \"127.0.0.1:0\", backend: app }\n"
                     "backends:\n  - name: app\n    balance: roundrobin\n    servers:\n";
  for (std::size_t i = 0; i < n; ++i) {
    yaml += "      - { name: s" + std::to_string(i) + ", address: \"10.0." + std::to_string(i / 250) +
            "." + std::to_string(i % 250 + 1) + ":80\" }\n";
  }
  config::LoadResult loaded = config::loadString(yaml);
  if (!loaded.ok()) {
    state.SkipWithError("config");
    return;
  }
  auto config = std::make_shared<const config::Config>(std::move(*loaded.config));
  control::ServerRegistry registry;
  registry.adopt(*config);
  const proxy::SnapshotPtr snapshot = proxy::buildSnapshot(config, registry.liveSource());
  Fixture workers[2];
  for (Fixture& w : workers) w.counters->servers.reserve(snapshot->slotLimits.servers);
  control::MetricsInputs in;
  in.snapshot = snapshot.get();
  in.registry = &registry;
  for (Fixture& w : workers) in.workers.push_back(w.counters.get());
  std::size_t bytes = 0;
  for (auto _ : state) {
    const stats::Model model = control::buildModel(in);
    if (modelOnly) {
      benchmark::DoNotOptimize(model);
      continue;
    }
    const auto families = stats::exposition(model, stats::Compat::HAProxy);
    std::ostringstream text;
    prometheus::TextSerializer().Serialize(text, families);
    bytes = text.str().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
void BM_ScrapeModel(benchmark::State& state) { scrape(state, true); }
void BM_Scrape(benchmark::State& state) { scrape(state, false); }
BENCHMARK(BM_ScrapeModel)->Arg(2)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Scrape)->Arg(2)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMillisecond);

}  // namespace
BENCHMARK_MAIN();
