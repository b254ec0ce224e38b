#pragma once
// A Model as Prometheus metric families: what a prometheus::Collectable's Collect() returns for
// one scrape. Pure: no registry, no threads, no sockets, no clock; the same Model always gives
// the same families, in the same order.
//
// The family names, types and label names are a contract (docs/metrics.md lists every one; the
// Grafana dashboard in conf/ and users' alerts depend on them): renaming one is a breaking change.
//
// Compat::HAProxy adds, beside the ringlb_ families, the values that mean the same thing under
// the names and labels of HAProxy's built-in exporter (addons/promex), so dashboards and alerts
// written for HAProxy work unchanged. A HAProxy name is exported only where ringlb has a value of
// the same meaning and unit; docs/metrics.md says which names are left out and why.
//
// Preconditions the Model's filler keeps (Model.h states most of them):
//   - every FrontendValues::limited connection is also counted in `accepted` (a limited
//     connection was accepted, then refused), never in `sessions`;
//   - a Histogram's buckets hold bounds.size() + 1 counts and `count` is their sum;
//   - ServerValues::state is one of kServerStates;
//   - names are unique within frontends, within backends, and within a backend's servers.
// A broken one never reads out of bounds: missing buckets count as 0, an unknown state sets no
// state series to 1.
#include <prometheus/metric_family.h>

#include <vector>

#include "ringlb/stats/Model.h"

namespace ringlb::stats {

enum class Compat {
  None,     // ringlb_ families only
  HAProxy,  // ringlb_ families, then the haproxy_ ones HAProxy's exporter would show
};

std::vector<prometheus::MetricFamily> exposition(const Model& model, Compat compat);

}  // namespace ringlb::stats
