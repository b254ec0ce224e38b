#include "ringlb/control/MetricsModel.h"

#include "ringlb/proxy/Session.h"

namespace ringlb::control {

namespace {

template <class Stat>
constexpr std::size_t at(Stat stat) {
  return static_cast<std::size_t>(stat);
}

// One counter of one slot, summed over the workers.
template <class Table>
uint64_t total(const std::vector<const stats::WorkerCounters*>& workers, Table stats::WorkerCounters::*table,
               uint32_t slot, std::size_t stat) {
  uint64_t sum = 0;
  for (const stats::WorkerCounters* w : workers) sum += (w->*table).read(slot, stat);
  return sum;
}

}  // namespace

const char* metricsState(const health::ServerState& state) {
  switch (state.admin) {
    case health::AdminState::Draining: return "draining";
    case health::AdminState::Maintenance: return "maintenance";
    case health::AdminState::Active: break;
  }
  return state.health == health::Health::Up ? "up" : "down";
}

stats::Model buildModel(const MetricsInputs& in) {
  using stats::BackendStat;
  using stats::FrontendStat;
  using stats::ServerStat;
  using stats::WorkerCounters;
  stats::Model model;
  model.process = in.process;
  const proxy::Snapshot& snapshot = *in.snapshot;
  const config::Config& config = *snapshot.config;
  const auto& workers = in.workers;

  for (std::size_t f = 0; f < config.frontends.size(); ++f) {
    const uint32_t slot = snapshot.frontendSlots[f];
    auto get = [&](FrontendStat s) { return total(workers, &WorkerCounters::frontends, slot, at(s)); };
    stats::FrontendValues v;
    v.name = config.frontends[f].name;
    v.accepted = get(FrontendStat::Accepted);
    v.sessions = get(FrontendStat::Sessions);
    // Read after `sessions`: a session started and closed between the two reads makes this
    // briefly one too low, clamped at 0, never wrapped.
    const uint64_t closed = get(FrontendStat::Closed);
    v.current = v.sessions > closed ? v.sessions - closed : 0;
    v.limited = get(FrontendStat::Limited);
    v.bytesIn = get(FrontendStat::BytesIn);
    v.bytesOut = get(FrontendStat::BytesOut);
    model.frontends.push_back(std::move(v));
  }

  for (std::size_t b = 0; b < config.backends.size(); ++b) {
    const config::Backend& backend = config.backends[b];
    const uint32_t slot = snapshot.backendSlots[b];
    auto get = [&](BackendStat s) { return total(workers, &WorkerCounters::backends, slot, at(s)); };
    stats::BackendValues v;
    v.name = backend.name;
    const uint64_t opened = get(BackendStat::Opened);
    const uint64_t closed = get(BackendStat::Closed);
    v.current = opened > closed ? opened - closed : 0;
    v.connectErrors = get(BackendStat::ConnectErrors);
    v.retries = get(BackendStat::Retries);
    v.noServer = get(BackendStat::NoServer);
    for (const config::Server& server : backend.servers) {
      const ServerRecord* record = in.registry->find(backend.name, server.name);
      if (record == nullptr) continue;
      const uint32_t id = record->live->id;
      auto sget = [&](std::size_t s) { return total(workers, &WorkerCounters::servers, id, s); };
      stats::ServerValues sv;
      sv.backend = backend.name;
      sv.name = server.name;
      sv.state = metricsState(record->state);
      sv.backup = server.backup;
      sv.current = record->live->active.load(std::memory_order_relaxed);
      sv.connections = sget(at(ServerStat::Connections));
      sv.bytesIn = sget(at(ServerStat::BytesIn));
      sv.bytesOut = sget(at(ServerStat::BytesOut));
      sv.connectErrors = sget(at(ServerStat::ConnectErrors));
      sv.connectTime.bounds.assign(stats::kConnectTimeBounds.begin(), stats::kConnectTimeBounds.end());
      for (std::size_t i = 0; i <= stats::kConnectTimeBounds.size(); ++i) {
        const uint64_t n = sget(at(ServerStat::ConnectBucket0) + i);
        sv.connectTime.buckets.push_back(n);
        sv.connectTime.count += n;
      }
      sv.connectTime.sum = static_cast<double>(sget(at(ServerStat::ConnectTimeUs))) / 1e6;
      sv.checkFailures = record->checkFailures;
      sv.transitions = record->transitions;
      sv.weight = ServerRegistry::effectiveWeight(*record);
      const bool eligible = record->live->eligible.load(std::memory_order_relaxed) && sv.weight > 0;
      v.eligibleServers += eligible ? 1 : 0;
      v.activeServers += eligible && !server.backup ? 1 : 0;
      v.backupServers += eligible && server.backup ? 1 : 0;
      model.servers.push_back(std::move(sv));
    }
    model.backends.push_back(std::move(v));
  }

  for (std::size_t w = 0; w < workers.size(); ++w) {
    stats::WorkerValues v;
    v.id = static_cast<unsigned>(w);
    auto get = [&](stats::WorkerStat s) { return workers[w]->worker[at(s)].read(); };
    v.submissions = get(stats::WorkerStat::Submissions);
    v.completions = get(stats::WorkerStat::Completions);
    v.spliceDirections = get(stats::WorkerStat::SpliceDirections);
    v.copyDirections = get(stats::WorkerStat::CopyDirections);
    v.bufferWaits = get(stats::WorkerStat::BufferWaits);
    v.privateBuffers = get(stats::WorkerStat::PrivateBuffers);
    model.workers.push_back(v);
  }

  // Every reason, zeros included, so a rate query has a series from the start. None is not a
  // reason a session ends with.
  for (std::size_t r = 1; r <= static_cast<std::size_t>(proxy::CloseReason::Internal); ++r) {
    uint64_t n = 0;
    for (const WorkerCounters* w : workers) n += w->closed[r].read();
    model.closedByReason.emplace_back(proxy::toString(static_cast<proxy::CloseReason>(r)), n);
  }
  return model;
}

}  // namespace ringlb::control
