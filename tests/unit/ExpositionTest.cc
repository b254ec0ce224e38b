// stats::exposition: the family names, types, labels and values a scrape shows (the contract in
// docs/metrics.md), with and without the HAProxy names, checked on a hand-made Model.
#include <gtest/gtest.h>
#include <prometheus/check_names.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "ringlb/stats/Exposition.h"

namespace ringlb::stats {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<std::pair<std::string, std::string>>;

Histogram connectTime(std::vector<uint64_t> buckets, double sum) {
  Histogram h;
  h.bounds = {0.001, 0.01, 0.1};
  h.buckets = std::move(buckets);
  h.sum = sum;
  for (uint64_t b : h.buckets) h.count += b;
  return h;
}

// Two frontends, two backends, three servers (a draining primary and an up backup in `app`, a
// down server in `db`), two workers. Every value is distinct, so a value read from the wrong
// field shows.
Model sampleModel() {
  Model m;
  m.process = {.workers = 2,
               .version = "0.1.0",
               .liburingVersion = "2.3",
               .kernel = "6.1.0-test",
               .startTimeSeconds = 1700000000.5,
               .reloadsOk = 4,
               .reloadsFailed = 1,
               .lastReloadSeconds = 1700000100,
               .lastReloadOk = false};
  m.frontends = {
      {.name = "web", .accepted = 100, .sessions = 97, .current = 7, .limited = 3, .bytesIn = 1000,
       .bytesOut = 5000},
      {.name = "api", .accepted = 200, .sessions = 200, .current = 9, .limited = 0, .bytesIn = 2000,
       .bytesOut = 6000},
  };
  m.backends = {
      {.name = "app", .current = 5, .connectErrors = 4, .retries = 2, .noServer = 1,
       .eligibleServers = 1, .activeServers = 0, .backupServers = 1},
      {.name = "db", .current = 0, .connectErrors = 11, .retries = 6, .noServer = 8,
       .eligibleServers = 0, .activeServers = 0, .backupServers = 0},
  };
  m.servers = {
      {.backend = "app", .name = "a1", .state = "draining", .backup = false, .current = 3,
       .connections = 40, .bytesIn = 400, .bytesOut = 4000, .connectErrors = 1,
       .connectTime = connectTime({5, 10, 20, 2}, 1.5), .checkFailures = 2, .transitions = 3,
       .weight = 50},
      {.backend = "app", .name = "b1", .state = "up", .backup = true, .current = 2,
       .connections = 30, .bytesIn = 300, .bytesOut = 3000, .connectErrors = 3,
       .connectTime = connectTime({30, 0, 0, 0}, 0.01), .checkFailures = 0, .transitions = 1,
       .weight = 100},
      {.backend = "db", .name = "d1", .state = "down", .backup = false, .current = 0,
       .connections = 12, .bytesIn = 0, .bytesOut = 0, .connectErrors = 11,
       .connectTime = connectTime({0, 0, 0, 0}, 0), .checkFailures = 9, .transitions = 2,
       .weight = 100},
  };
  m.workers = {
      {.id = 0, .submissions = 1000, .completions = 1100, .spliceDirections = 6,
       .copyDirections = 14, .bufferWaits = 3},
      {.id = 1, .submissions = 2000, .completions = 2100, .spliceDirections = 0,
       .copyDirections = 20, .privateBuffers = 4},
  };
  m.closedByReason = {
      {"completed", 250}, {"client_reset", 5}, {"server_reset", 0}, {"no_server", 9}};
  return m;
}

const MetricFamily* find(const std::vector<MetricFamily>& families, const std::string& name) {
  for (const MetricFamily& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Labels labelsOf(const ClientMetric& m) {
  Labels out;
  for (const ClientMetric::Label& l : m.label) out.emplace_back(l.name, l.value);
  return out;
}

// The one series of `name` whose labels are exactly `labels` (in order); fails the test if there
// is no such series, or more than one.
const ClientMetric& series(const std::vector<MetricFamily>& families, const std::string& name,
                           const Labels& labels) {
  static const ClientMetric kNone;
  const MetricFamily* f = find(families, name);
  if (f == nullptr) {
    ADD_FAILURE() << "no family " << name;
    return kNone;
  }
  const ClientMetric* found = nullptr;
  for (const ClientMetric& m : f->metric) {
    if (labelsOf(m) != labels) continue;
    if (found != nullptr) ADD_FAILURE() << name << ": two series with the same labels";
    found = &m;
  }
  if (found == nullptr) {
    ADD_FAILURE() << name << ": no series with the labels asked";
    return kNone;
  }
  return *found;
}

// The value of a counter or gauge series, read under the family's own type.
double value(const std::vector<MetricFamily>& families, const std::string& name,
             const Labels& labels) {
  const MetricFamily* f = find(families, name);
  const ClientMetric& m = series(families, name, labels);
  if (f == nullptr) return std::nan("");
  if (f->type == MetricType::Counter) return m.counter.value;
  if (f->type == MetricType::Gauge) return m.gauge.value;
  ADD_FAILURE() << name << " is neither a counter nor a gauge";
  return std::nan("");
}

std::vector<std::string> labelNames(const ClientMetric& m) {
  std::vector<std::string> out;
  for (const ClientMetric::Label& l : m.label) out.push_back(l.name);
  return out;
}

std::string render(const std::vector<MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

bool hasLine(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

struct Expected {
  const char* name;
  MetricType type;
  std::vector<std::string> labels;  // every series' label names, in order
};

// Every ringlb_ family, its type and its label names: the contract of docs/metrics.md.
const std::vector<Expected> kRinglbFamilies = {
    {"ringlb_workers", MetricType::Gauge, {}},
    {"ringlb_build_info", MetricType::Gauge, {"version", "liburing", "kernel"}},
    {"ringlb_start_time_seconds", MetricType::Gauge, {}},
    {"ringlb_config_reloads_total", MetricType::Counter, {"result"}},
    {"ringlb_config_last_reload_seconds", MetricType::Gauge, {}},
    {"ringlb_config_last_reload_success", MetricType::Gauge, {}},
    {"ringlb_access_log_dropped_total", MetricType::Counter, {}},
    {"ringlb_frontend_connections_total", MetricType::Counter, {"frontend"}},
    {"ringlb_frontend_sessions_total", MetricType::Counter, {"frontend"}},
    {"ringlb_frontend_current_connections", MetricType::Gauge, {"frontend"}},
    {"ringlb_frontend_limited_total", MetricType::Counter, {"frontend"}},
    {"ringlb_frontend_bytes_in_total", MetricType::Counter, {"frontend"}},
    {"ringlb_frontend_bytes_out_total", MetricType::Counter, {"frontend"}},
    {"ringlb_backend_current_connections", MetricType::Gauge, {"backend"}},
    {"ringlb_backend_connect_errors_total", MetricType::Counter, {"backend"}},
    {"ringlb_backend_retries_total", MetricType::Counter, {"backend"}},
    {"ringlb_backend_no_server_total", MetricType::Counter, {"backend"}},
    {"ringlb_backend_eligible_servers", MetricType::Gauge, {"backend"}},
    {"ringlb_backend_active_servers", MetricType::Gauge, {"backend"}},
    {"ringlb_backend_backup_servers", MetricType::Gauge, {"backend"}},
    {"ringlb_server_current_connections", MetricType::Gauge, {"backend", "server"}},
    {"ringlb_server_connections_total", MetricType::Counter, {"backend", "server"}},
    {"ringlb_server_bytes_in_total", MetricType::Counter, {"backend", "server"}},
    {"ringlb_server_bytes_out_total", MetricType::Counter, {"backend", "server"}},
    {"ringlb_server_connect_errors_total", MetricType::Counter, {"backend", "server"}},
    {"ringlb_server_connect_time_seconds", MetricType::Histogram, {"backend", "server"}},
    {"ringlb_server_state", MetricType::Gauge, {"backend", "server", "state"}},
    {"ringlb_server_check_failures_total", MetricType::Counter, {"backend", "server"}},
    {"ringlb_server_transitions_total", MetricType::Counter, {"backend", "server"}},
    {"ringlb_server_weight", MetricType::Gauge, {"backend", "server"}},
    {"ringlb_server_backup", MetricType::Gauge, {"backend", "server"}},
    {"ringlb_sessions_closed_total", MetricType::Counter, {"reason"}},
    {"ringlb_worker_io_uring_submissions_total", MetricType::Counter, {"worker"}},
    {"ringlb_worker_io_uring_completions_total", MetricType::Counter, {"worker"}},
    {"ringlb_worker_relay_directions_total", MetricType::Counter, {"worker", "mode"}},
    {"ringlb_worker_buffer_waits_total", MetricType::Counter, {"worker"}},
    {"ringlb_worker_private_buffers_total", MetricType::Counter, {"worker"}},
};

// Every haproxy_ family under compat: names, types and labels of HAProxy's exporter.
const std::vector<Expected> kHAProxyFamilies = {
    {"haproxy_process_nbthread", MetricType::Gauge, {}},
    {"haproxy_process_start_time_seconds", MetricType::Gauge, {}},
    {"haproxy_frontend_current_sessions", MetricType::Gauge, {"proxy"}},
    {"haproxy_frontend_sessions_total", MetricType::Counter, {"proxy"}},
    {"haproxy_frontend_connections_total", MetricType::Counter, {"proxy"}},
    {"haproxy_frontend_bytes_in_total", MetricType::Counter, {"proxy"}},
    {"haproxy_frontend_bytes_out_total", MetricType::Counter, {"proxy"}},
    {"haproxy_backend_current_sessions", MetricType::Gauge, {"proxy"}},
    {"haproxy_backend_connection_errors_total", MetricType::Counter, {"proxy"}},
    {"haproxy_backend_retry_warnings_total", MetricType::Counter, {"proxy"}},
    {"haproxy_backend_active_servers", MetricType::Gauge, {"proxy"}},
    {"haproxy_backend_backup_servers", MetricType::Gauge, {"proxy"}},
    {"haproxy_backend_bytes_in_total", MetricType::Counter, {"proxy"}},
    {"haproxy_backend_bytes_out_total", MetricType::Counter, {"proxy"}},
    {"haproxy_backend_status", MetricType::Gauge, {"proxy", "state"}},
    {"haproxy_server_current_sessions", MetricType::Gauge, {"proxy", "server"}},
    {"haproxy_server_sessions_total", MetricType::Counter, {"proxy", "server"}},
    {"haproxy_server_bytes_in_total", MetricType::Counter, {"proxy", "server"}},
    {"haproxy_server_bytes_out_total", MetricType::Counter, {"proxy", "server"}},
    {"haproxy_server_connection_errors_total", MetricType::Counter, {"proxy", "server"}},
    {"haproxy_server_weight", MetricType::Gauge, {"proxy", "server"}},
    {"haproxy_server_status", MetricType::Gauge, {"proxy", "server", "state"}},
};

void expectFamilies(const std::vector<MetricFamily>& families,
                    const std::vector<Expected>& expected) {
  ASSERT_EQ(families.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const MetricFamily& f = families[i];
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(f.name, expected[i].name);
    EXPECT_EQ(f.type, expected[i].type);
    EXPECT_FALSE(f.help.empty());
    EXPECT_FALSE(f.metric.empty());
    for (const ClientMetric& m : f.metric) EXPECT_EQ(labelNames(m), expected[i].labels);
  }
}

// ---- the ringlb_ families ---------------------------------------------------------------------

// Without compat, exactly the ringlb_ families, in order, each with its type, a help text and
// the contract's label names on every series.
TEST(ExpositionTest, RinglbFamiliesHaveTheContractNamesTypesAndLabels) {
  expectFamilies(exposition(sampleModel(), Compat::None), kRinglbFamilies);
}

// A counter's name ends in _total, and no other family's does (units are in the names).
TEST(ExpositionTest, CountersAndOnlyCountersEndInTotal) {
  for (const MetricFamily& f : exposition(sampleModel(), Compat::HAProxy)) {
    const bool total = f.name.ends_with("_total");
    EXPECT_EQ(total, f.type == MetricType::Counter) << f.name;
  }
}

// Process values: workers, build labels, start time, reloads by result, last reload.
TEST(ExpositionTest, ProcessValues) {
  const auto fs = exposition(sampleModel(), Compat::None);
  EXPECT_EQ(value(fs, "ringlb_workers", {}), 2);
  EXPECT_EQ(value(fs, "ringlb_build_info",
                  {{"version", "0.1.0"}, {"liburing", "2.3"}, {"kernel", "6.1.0-test"}}),
            1);
  EXPECT_EQ(value(fs, "ringlb_start_time_seconds", {}), 1700000000.5);
  EXPECT_EQ(value(fs, "ringlb_config_reloads_total", {{"result", "ok"}}), 4);
  EXPECT_EQ(value(fs, "ringlb_config_reloads_total", {{"result", "failed"}}), 1);
  EXPECT_EQ(value(fs, "ringlb_config_last_reload_seconds", {}), 1700000100);
  EXPECT_EQ(value(fs, "ringlb_config_last_reload_success", {}), 0);
}

// One series per frontend, each value from its own field.
TEST(ExpositionTest, FrontendValues) {
  const auto fs = exposition(sampleModel(), Compat::None);
  EXPECT_EQ(find(fs, "ringlb_frontend_connections_total")->metric.size(), 2u);
  EXPECT_EQ(value(fs, "ringlb_frontend_connections_total", {{"frontend", "web"}}), 100);
  EXPECT_EQ(value(fs, "ringlb_frontend_current_connections", {{"frontend", "web"}}), 7);
  EXPECT_EQ(value(fs, "ringlb_frontend_limited_total", {{"frontend", "web"}}), 3);
  EXPECT_EQ(value(fs, "ringlb_frontend_bytes_in_total", {{"frontend", "web"}}), 1000);
  EXPECT_EQ(value(fs, "ringlb_frontend_bytes_out_total", {{"frontend", "web"}}), 5000);
  EXPECT_EQ(value(fs, "ringlb_frontend_connections_total", {{"frontend", "api"}}), 200);
  EXPECT_EQ(value(fs, "ringlb_frontend_bytes_out_total", {{"frontend", "api"}}), 6000);
}

// One series per backend, each value from its own field.
TEST(ExpositionTest, BackendValues) {
  const auto fs = exposition(sampleModel(), Compat::None);
  EXPECT_EQ(find(fs, "ringlb_backend_current_connections")->metric.size(), 2u);
  EXPECT_EQ(value(fs, "ringlb_backend_current_connections", {{"backend", "app"}}), 5);
  EXPECT_EQ(value(fs, "ringlb_backend_connect_errors_total", {{"backend", "app"}}), 4);
  EXPECT_EQ(value(fs, "ringlb_backend_retries_total", {{"backend", "app"}}), 2);
  EXPECT_EQ(value(fs, "ringlb_backend_no_server_total", {{"backend", "app"}}), 1);
  EXPECT_EQ(value(fs, "ringlb_backend_eligible_servers", {{"backend", "app"}}), 1);
  EXPECT_EQ(value(fs, "ringlb_backend_active_servers", {{"backend", "app"}}), 0);
  EXPECT_EQ(value(fs, "ringlb_backend_backup_servers", {{"backend", "app"}}), 1);
  EXPECT_EQ(value(fs, "ringlb_backend_connect_errors_total", {{"backend", "db"}}), 11);
  EXPECT_EQ(value(fs, "ringlb_backend_no_server_total", {{"backend", "db"}}), 8);
}

// One series per server (labelled with its backend), each value from its own field.
TEST(ExpositionTest, ServerValues) {
  const auto fs = exposition(sampleModel(), Compat::None);
  const Labels a1 = {{"backend", "app"}, {"server", "a1"}};
  const Labels b1 = {{"backend", "app"}, {"server", "b1"}};
  const Labels d1 = {{"backend", "db"}, {"server", "d1"}};
  EXPECT_EQ(find(fs, "ringlb_server_current_connections")->metric.size(), 3u);
  EXPECT_EQ(value(fs, "ringlb_server_current_connections", a1), 3);
  EXPECT_EQ(value(fs, "ringlb_server_connections_total", a1), 40);
  EXPECT_EQ(value(fs, "ringlb_server_bytes_in_total", a1), 400);
  EXPECT_EQ(value(fs, "ringlb_server_bytes_out_total", a1), 4000);
  EXPECT_EQ(value(fs, "ringlb_server_connect_errors_total", a1), 1);
  EXPECT_EQ(value(fs, "ringlb_server_check_failures_total", a1), 2);
  EXPECT_EQ(value(fs, "ringlb_server_transitions_total", a1), 3);
  EXPECT_EQ(value(fs, "ringlb_server_weight", a1), 50);
  EXPECT_EQ(value(fs, "ringlb_server_backup", a1), 0);
  EXPECT_EQ(value(fs, "ringlb_server_backup", b1), 1);
  EXPECT_EQ(value(fs, "ringlb_server_weight", b1), 100);
  EXPECT_EQ(value(fs, "ringlb_server_connections_total", d1), 12);
  EXPECT_EQ(value(fs, "ringlb_server_check_failures_total", d1), 9);
}

// The Model's per-bucket counts become Prometheus's cumulative ones; +Inf is last and equals
// the count; sum and count carry over.
TEST(ExpositionTest, ConnectTimeBucketsAreCumulative) {
  const auto fs = exposition(sampleModel(), Compat::None);
  const ClientMetric& m =
      series(fs, "ringlb_server_connect_time_seconds", {{"backend", "app"}, {"server", "a1"}});
  ASSERT_EQ(m.histogram.bucket.size(), 4u);
  const double bounds[] = {0.001, 0.01, 0.1};
  const uint64_t cumulative[] = {5, 15, 35};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(m.histogram.bucket[i].upper_bound, bounds[i]);
    EXPECT_EQ(m.histogram.bucket[i].cumulative_count, cumulative[i]);
  }
  EXPECT_TRUE(std::isinf(m.histogram.bucket[3].upper_bound));
  EXPECT_EQ(m.histogram.bucket[3].cumulative_count, 37u);
  EXPECT_EQ(m.histogram.sample_count, 37u);
  EXPECT_EQ(m.histogram.sample_sum, 1.5);
}

// A histogram whose Model lacks buckets (a broken precondition) reads no further than it has:
// the missing ones count 0 and +Inf still equals the count.
TEST(ExpositionTest, ShortBucketListReadsNothingPastItsEnd) {
  ServerValues server;
  server.backend = "b";
  server.name = "s";
  server.state = "up";
  server.connectTime = {.bounds = {0.1, 1}, .buckets = {4}, .sum = 0.2, .count = 4};
  Model m;
  m.servers = {server};
  const auto fs = exposition(m, Compat::None);
  const ClientMetric& h =
      series(fs, "ringlb_server_connect_time_seconds", {{"backend", "b"}, {"server", "s"}});
  ASSERT_EQ(h.histogram.bucket.size(), 3u);
  EXPECT_EQ(h.histogram.bucket[0].cumulative_count, 4u);
  EXPECT_EQ(h.histogram.bucket[1].cumulative_count, 4u);
  EXPECT_EQ(h.histogram.bucket[2].cumulative_count, 4u);
}

// Every server has one series per kServerStates entry, and exactly one of them is 1: its own.
TEST(ExpositionTest, ExactlyOneStateSeriesIsOnePerServer) {
  const Model model = sampleModel();
  const auto fs = exposition(model, Compat::None);
  const MetricFamily* f = find(fs, "ringlb_server_state");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->metric.size(), model.servers.size() * std::size(kServerStates));
  for (const ServerValues& s : model.servers) {
    int ones = 0;
    for (const char* state : kServerStates) {
      const double v = value(fs, "ringlb_server_state",
                             {{"backend", s.backend}, {"server", s.name}, {"state", state}});
      EXPECT_TRUE(v == 0 || v == 1);
      if (v == 1) {
        ++ones;
        EXPECT_EQ(s.state, state);
      }
    }
    EXPECT_EQ(ones, 1) << s.name;
  }
}

// Every close reason of the Model is a series, zeros included.
TEST(ExpositionTest, ClosedSessionsByReasonIncludeZeros) {
  const auto fs = exposition(sampleModel(), Compat::None);
  EXPECT_EQ(find(fs, "ringlb_sessions_closed_total")->metric.size(), 4u);
  EXPECT_EQ(value(fs, "ringlb_sessions_closed_total", {{"reason", "completed"}}), 250);
  EXPECT_EQ(value(fs, "ringlb_sessions_closed_total", {{"reason", "client_reset"}}), 5);
  EXPECT_EQ(value(fs, "ringlb_sessions_closed_total", {{"reason", "server_reset"}}), 0);
  EXPECT_EQ(value(fs, "ringlb_sessions_closed_total", {{"reason", "no_server"}}), 9);
}

// Per worker (its id in decimal): io_uring submissions and completions, relay directions by mode.
TEST(ExpositionTest, WorkerValues) {
  const auto fs = exposition(sampleModel(), Compat::None);
  EXPECT_EQ(value(fs, "ringlb_worker_io_uring_submissions_total", {{"worker", "0"}}), 1000);
  EXPECT_EQ(value(fs, "ringlb_worker_io_uring_completions_total", {{"worker", "0"}}), 1100);
  EXPECT_EQ(value(fs, "ringlb_worker_io_uring_submissions_total", {{"worker", "1"}}), 2000);
  EXPECT_EQ(value(fs, "ringlb_worker_io_uring_completions_total", {{"worker", "1"}}), 2100);
  const std::string directions = "ringlb_worker_relay_directions_total";
  EXPECT_EQ(value(fs, directions, {{"worker", "0"}, {"mode", "splice"}}), 6);
  EXPECT_EQ(value(fs, directions, {{"worker", "0"}, {"mode", "copy"}}), 14);
  EXPECT_EQ(value(fs, directions, {{"worker", "1"}, {"mode", "splice"}}), 0);
  EXPECT_EQ(value(fs, directions, {{"worker", "1"}, {"mode", "copy"}}), 20);
  EXPECT_EQ(value(fs, "ringlb_worker_buffer_waits_total", {{"worker", "0"}}), 3);
  EXPECT_EQ(value(fs, "ringlb_worker_private_buffers_total", {{"worker", "1"}}), 4);
}

// ---- compat: haproxy ---------------------------------------------------------------------------

// Compat off shows no haproxy_ family at all.
TEST(ExpositionTest, CompatOffHasNoHAProxyFamily) {
  for (const MetricFamily& f : exposition(sampleModel(), Compat::None)) {
    EXPECT_FALSE(f.name.starts_with("haproxy_")) << f.name;
  }
}

// Compat on keeps every ringlb_ family, unchanged and first, then adds HAProxy's, each with its
// type and HAProxy's label names.
TEST(ExpositionTest, CompatOnAddsTheHAProxyFamiliesAfterRinglbs) {
  const Model model = sampleModel();
  const auto plain = exposition(model, Compat::None);
  auto all = exposition(model, Compat::HAProxy);
  ASSERT_EQ(all.size(), kRinglbFamilies.size() + kHAProxyFamilies.size());
  const std::vector<MetricFamily> haproxy(all.begin() + static_cast<long>(plain.size()), all.end());
  all.resize(plain.size());
  expectFamilies(all, kRinglbFamilies);
  expectFamilies(haproxy, kHAProxyFamilies);
}

// Frontend values under HAProxy's names: connections are what was accepted, sessions what
// became a session.
TEST(ExpositionTest, CompatFrontendValues) {
  const auto fs = exposition(sampleModel(), Compat::HAProxy);
  EXPECT_EQ(value(fs, "haproxy_frontend_current_sessions", {{"proxy", "web"}}), 7);
  EXPECT_EQ(value(fs, "haproxy_frontend_connections_total", {{"proxy", "web"}}), 100);
  EXPECT_EQ(value(fs, "haproxy_frontend_sessions_total", {{"proxy", "web"}}), 97);
  EXPECT_EQ(value(fs, "haproxy_frontend_sessions_total", {{"proxy", "api"}}), 200);
  EXPECT_EQ(value(fs, "haproxy_frontend_bytes_in_total", {{"proxy", "web"}}), 1000);
  EXPECT_EQ(value(fs, "haproxy_frontend_bytes_out_total", {{"proxy", "api"}}), 6000);
}

// Backend values under HAProxy's names; bytes are the sums of the backend's servers; status is
// UP while some server is up with a weight.
TEST(ExpositionTest, CompatBackendValues) {
  const auto fs = exposition(sampleModel(), Compat::HAProxy);
  EXPECT_EQ(value(fs, "haproxy_backend_current_sessions", {{"proxy", "app"}}), 5);
  EXPECT_EQ(value(fs, "haproxy_backend_connection_errors_total", {{"proxy", "app"}}), 4);
  EXPECT_EQ(value(fs, "haproxy_backend_retry_warnings_total", {{"proxy", "db"}}), 6);
  EXPECT_EQ(value(fs, "haproxy_backend_active_servers", {{"proxy", "app"}}), 0);
  EXPECT_EQ(value(fs, "haproxy_backend_backup_servers", {{"proxy", "app"}}), 1);
  EXPECT_EQ(value(fs, "haproxy_backend_bytes_in_total", {{"proxy", "app"}}), 700);
  EXPECT_EQ(value(fs, "haproxy_backend_bytes_out_total", {{"proxy", "app"}}), 7000);
  EXPECT_EQ(value(fs, "haproxy_backend_bytes_in_total", {{"proxy", "db"}}), 0);
  EXPECT_EQ(value(fs, "haproxy_backend_status", {{"proxy", "app"}, {"state", "UP"}}), 1);
  EXPECT_EQ(value(fs, "haproxy_backend_status", {{"proxy", "app"}, {"state", "DOWN"}}), 0);
  EXPECT_EQ(value(fs, "haproxy_backend_status", {{"proxy", "db"}, {"state", "UP"}}), 0);
  EXPECT_EQ(value(fs, "haproxy_backend_status", {{"proxy", "db"}, {"state", "DOWN"}}), 1);
}

// Server values under HAProxy's names and labels (proxy = the backend).
TEST(ExpositionTest, CompatServerValues) {
  const auto fs = exposition(sampleModel(), Compat::HAProxy);
  const Labels a1 = {{"proxy", "app"}, {"server", "a1"}};
  EXPECT_EQ(value(fs, "haproxy_server_current_sessions", a1), 3);
  EXPECT_EQ(value(fs, "haproxy_server_sessions_total", a1), 40);
  EXPECT_EQ(value(fs, "haproxy_server_bytes_in_total", a1), 400);
  EXPECT_EQ(value(fs, "haproxy_server_bytes_out_total", a1), 4000);
  EXPECT_EQ(value(fs, "haproxy_server_connection_errors_total", a1), 1);
  EXPECT_EQ(value(fs, "haproxy_server_weight", a1), 50);
  const Labels d1 = {{"proxy", "db"}, {"server", "d1"}};
  EXPECT_EQ(value(fs, "haproxy_server_connection_errors_total", d1), 11);
}

// haproxy_server_status: HAProxy's five states for every server, 1 on the one ours maps to
// (up UP, down DOWN, draining DRAIN, maintenance MAINT); NOLB has no ringlb state and stays 0.
TEST(ExpositionTest, CompatServerStatusMapsOurStates) {
  Model model = sampleModel();
  ServerValues m1;
  m1.backend = "db";
  m1.name = "m1";
  m1.state = "maintenance";
  model.servers.push_back(m1);
  const auto fs = exposition(model, Compat::HAProxy);
  const std::map<std::string, std::string> expected = {
      {"a1", "DRAIN"}, {"b1", "UP"}, {"d1", "DOWN"}, {"m1", "MAINT"}};
  for (const ServerValues& s : model.servers) {
    for (const char* state : {"DOWN", "UP", "MAINT", "DRAIN", "NOLB"}) {
      EXPECT_EQ(value(fs, "haproxy_server_status",
                      {{"proxy", s.backend}, {"server", s.name}, {"state", state}}),
                expected.at(s.name) == state ? 1 : 0)
          << s.name << " " << state;
    }
  }
}

// Process values under HAProxy's names.
TEST(ExpositionTest, CompatProcessValues) {
  const auto fs = exposition(sampleModel(), Compat::HAProxy);
  EXPECT_EQ(value(fs, "haproxy_process_nbthread", {}), 2);
  EXPECT_EQ(value(fs, "haproxy_process_start_time_seconds", {}), 1700000000.5);
}

// ---- names and text ----------------------------------------------------------------------------

// Every family and label name is valid for Prometheus, with and without compat.
TEST(ExpositionTest, NamesPassPrometheusRules) {
  for (const MetricFamily& f : exposition(sampleModel(), Compat::HAProxy)) {
    EXPECT_TRUE(prometheus::CheckMetricName(f.name)) << f.name;
    for (const ClientMetric& m : f.metric) {
      for (const ClientMetric::Label& l : m.label) {
        EXPECT_TRUE(prometheus::CheckLabelName(l.name)) << f.name << " " << l.name;
      }
    }
  }
}

// A backend name with a quote, a backslash and a newline is escaped in the text format, so the
// series stays one line and its label value reads back exactly.
TEST(ExpositionTest, OddLabelValuesAreEscapedInTheTextFormat) {
  Model model;
  model.backends = {{.name = "we\"ird\\be\nnd", .current = 4}};
  const std::string text = render(exposition(model, Compat::None));
  EXPECT_TRUE(hasLine(text, R"(ringlb_backend_current_connections{backend="we\"ird\\be\nnd"} 4)"))
      << text;
}

// The full text of a scrape, as Prometheus reads it: HELP and TYPE lines, counters, labelled
// gauges, histogram buckets with le, and the HAProxy names under compat.
TEST(ExpositionTest, RendersTheTextFormat) {
  const std::string text = render(exposition(sampleModel(), Compat::HAProxy));
  for (const char* line : {
           "# TYPE ringlb_frontend_connections_total counter",
           "ringlb_frontend_connections_total{frontend=\"web\"} 100",
           "# TYPE ringlb_server_state gauge",
           "ringlb_server_state{backend=\"app\",server=\"a1\",state=\"draining\"} 1",
           "ringlb_server_state{backend=\"app\",server=\"a1\",state=\"up\"} 0",
           "# TYPE ringlb_server_connect_time_seconds histogram",
           R"(ringlb_server_connect_time_seconds_bucket{backend="app",server="a1",le="0.01"} 15)",
           R"(ringlb_server_connect_time_seconds_bucket{backend="app",server="a1",le="+Inf"} 37)",
           "ringlb_server_connect_time_seconds_count{backend=\"app\",server=\"a1\"} 37",
           "ringlb_server_connect_time_seconds_sum{backend=\"app\",server=\"a1\"} 1.5",
           "ringlb_build_info{version=\"0.1.0\",liburing=\"2.3\",kernel=\"6.1.0-test\"} 1",
           "ringlb_worker_relay_directions_total{worker=\"0\",mode=\"splice\"} 6",
           "haproxy_server_status{proxy=\"app\",server=\"a1\",state=\"DRAIN\"} 1",
           "haproxy_frontend_sessions_total{proxy=\"web\"} 97",
       }) {
    EXPECT_TRUE(hasLine(text, line)) << "missing: " << line << "\n" << text;
  }
  EXPECT_NE(text.find("# HELP ringlb_sessions_closed_total "), std::string::npos);
}

// ---- the Grafana dashboard ---------------------------------------------------------------------

// Every ringlb_ name the shipped dashboard mentions is a family exposition() produces (a
// histogram's _bucket/_sum/_count series count as its family): renaming a family without the
// dashboard fails here.
TEST(ExpositionTest, DashboardUsesOnlyExportedFamilies) {
  std::ifstream in(RINGLB_TEST_DATA "/../../conf/grafana-dashboard.json");
  ASSERT_TRUE(in) << "conf/grafana-dashboard.json not found";
  std::ostringstream text;
  text << in.rdbuf();
  const std::string json = text.str();

  std::set<std::string> exported;
  std::set<std::string> histograms;
  for (const MetricFamily& f : exposition(sampleModel(), Compat::None)) {
    exported.insert(f.name);
    if (f.type == MetricType::Histogram) histograms.insert(f.name);
  }

  // Every ringlb_ name the file mentions, by a plain scan (std::regex trips GCC 12's
  // -Wmaybe-uninitialized inside libstdc++ in the sanitizer build).
  std::set<std::string> used;
  for (std::size_t at = json.find("ringlb_"); at != std::string::npos; at = json.find("ringlb_", at + 1)) {
    std::size_t end = at;
    while (end < json.size() && ((json[end] >= 'a' && json[end] <= 'z') || json[end] == '_')) ++end;
    const std::string n = json.substr(at, end - at);
    std::string base = n;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (base.ends_with(suffix)) base.resize(base.size() - std::string_view(suffix).size());
    }
    used.insert(histograms.count(base) != 0 ? base : n);
  }
  EXPECT_GE(used.size(), 10u) << "the dashboard should chart most families";
  for (const std::string& n : used) EXPECT_EQ(exported.count(n), 1u) << n << " is not exported";
}

}  // namespace
}  // namespace ringlb::stats
