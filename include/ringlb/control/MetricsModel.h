#pragma once
// Fills a stats::Model for one scrape: sums every worker's counters by slot and reads the server
// registry (state, weight, checks). Runs on the control thread (the registry is its alone); the
// workers' counters are read with relaxed loads while they keep counting, so a scrape is a
// moment's view, each counter exact and monotonic, never torn.
#include <vector>

#include "ringlb/control/ServerRegistry.h"
#include "ringlb/proxy/Snapshot.h"
#include "ringlb/stats/Counters.h"
#include "ringlb/stats/Model.h"

namespace ringlb::control {

struct MetricsInputs {
  const proxy::Snapshot* snapshot = nullptr;  // the current one: which frontends, backends and
                                              // servers exist, and their slots
  const ServerRegistry* registry = nullptr;
  std::vector<const stats::WorkerCounters*> workers;
  stats::ProcessValues process;               // copied into the model as it is
};

stats::Model buildModel(const MetricsInputs& inputs);

// The state label a server's metrics report (one of stats::kServerStates).
const char* metricsState(const health::ServerState& state);

}  // namespace ringlb::control
