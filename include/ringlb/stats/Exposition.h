#pragma once
// A Model as Prometheus metric families: what a prometheus::Collectable's Collect() returns for
// one scrape. Pure: no registry, no threads, no sockets, no clock; the same Model always gives
// the same families, in the same order.
//
// The family names, types and label names are a contract (docs/metrics.md lists every one; the
// Grafana dashboard in conf/ and users' alerts depend on them): renaming one is a breaking change.
//
// Preconditions the Model's filler keeps (Model.h states most of them):
//   - a Histogram's buckets hold bounds.size() + 1 counts and `count` is their sum;
//   - ServerValues::state is one of kServerStates;
//   - names are unique within frontends, within backends, and within a backend's servers.
// A broken one never reads out of bounds: missing buckets count as 0, and an unknown state sets
// no state series to 1.
#include <prometheus/metric_family.h>

#include <vector>

#include "ringlb/stats/Model.h"

namespace ringlb::stats {

enum class Compat {
  None,  // ringlb_ families only
};

std::vector<prometheus::MetricFamily> exposition(const Model& model, Compat compat);

}  // namespace ringlb::stats
