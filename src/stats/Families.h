#pragma once
// Builders shared by the ringlb and HAProxy families (private to src/stats/).
#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ringlb/stats/Model.h"

namespace ringlb::stats::detail {

using Label = prometheus::ClientMetric::Label;
using Family = prometheus::MetricFamily;

inline Family family(std::string name, std::string help, prometheus::MetricType type) {
  Family f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

// One series: its labels in the order given (the text format prints them so), and its value
// under the family's type. Counts are uint64_t; Prometheus values are doubles, exact to 2^53.
inline void add(Family& f, std::vector<Label> labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

inline double asValue(uint64_t v) { return static_cast<double>(v); }

// The HAProxy families appended after ringlb's under Compat::HAProxy (HAProxyCompat.cc).
void appendHAProxy(const Model& model, std::vector<Family>& out);

}  // namespace ringlb::stats::detail
