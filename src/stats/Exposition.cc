// The ringlb_ families. Names, types and labels are the contract in docs/metrics.md; the order
// here is the order of the scrape (process, frontends, backends, servers, sessions, workers).
#include "ringlb/stats/Exposition.h"

#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "Families.h"

namespace ringlb::stats {
namespace {

using detail::add;
using detail::asValue;
using detail::Family;
using detail::family;
using detail::Label;
using prometheus::MetricType;

// One family with one series per item: labels and value read from each item.
template <class Item, class LabelsOf, class ValueOf>
Family perItem(std::string name, std::string help, MetricType type, const std::vector<Item>& items,
               LabelsOf labelsOf, ValueOf valueOf) {
  Family f = family(std::move(name), std::move(help), type);
  for (const Item& item : items) add(f, labelsOf(item), valueOf(item));
  return f;
}

std::vector<Label> frontendLabels(const FrontendValues& v) { return {{"frontend", v.name}}; }
std::vector<Label> backendLabels(const BackendValues& v) { return {{"backend", v.name}}; }
std::vector<Label> serverLabels(const ServerValues& v) {
  return {{"backend", v.backend}, {"server", v.name}};
}
std::vector<Label> workerLabels(const WorkerValues& v) {
  return {{"worker", std::to_string(v.id)}};
}

void appendProcess(const ProcessValues& p, std::vector<Family>& out) {
  Family workers =
      family("ringlb_workers", "Worker threads (one io_uring each).", MetricType::Gauge);
  add(workers, {}, p.workers);
  out.push_back(std::move(workers));

  Family build = family("ringlb_build_info",
                        "Always 1; labels name the ringlb version, the liburing it was built "
                        "with and the running kernel.",
                        MetricType::Gauge);
  add(build, {{"version", p.version}, {"liburing", p.liburingVersion}, {"kernel", p.kernel}}, 1);
  out.push_back(std::move(build));

  Family start = family("ringlb_start_time_seconds",
                        "Unix time the process started, in seconds.", MetricType::Gauge);
  add(start, {}, p.startTimeSeconds);
  out.push_back(std::move(start));

  Family reloads = family("ringlb_config_reloads_total",
                          "Configuration reload attempts, by result (ok or failed).",
                          MetricType::Counter);
  add(reloads, {{"result", "ok"}}, asValue(p.reloadsOk));
  add(reloads, {{"result", "failed"}}, asValue(p.reloadsFailed));
  out.push_back(std::move(reloads));

  Family last = family("ringlb_config_last_reload_seconds",
                       "Unix time of the last reload attempt, in seconds; 0 before the first.",
                       MetricType::Gauge);
  add(last, {}, p.lastReloadSeconds);
  out.push_back(std::move(last));

  Family success = family("ringlb_config_last_reload_success",
                          "1 if the last reload attempt succeeded (or none was made), else 0.",
                          MetricType::Gauge);
  add(success, {}, p.lastReloadOk ? 1 : 0);
  out.push_back(std::move(success));

  Family dropped = family("ringlb_access_log_dropped_total",
                          "Access log lines dropped because the writer could not keep up "
                          "(a worker's ring was full).",
                          MetricType::Counter);
  add(dropped, {}, static_cast<double>(p.accessLogDropped));
  out.push_back(std::move(dropped));
}

void appendFrontends(const std::vector<FrontendValues>& fes, std::vector<Family>& out) {
  out.push_back(perItem("ringlb_frontend_connections_total",
                        "Client connections accepted (including those then refused at a limit or during a stop).",
                        MetricType::Counter, fes, frontendLabels,
                        [](const FrontendValues& v) { return asValue(v.accepted); }));
  out.push_back(perItem("ringlb_frontend_sessions_total",
                        "Client connections that became sessions (were not refused first).",
                        MetricType::Counter, fes, frontendLabels,
                        [](const FrontendValues& v) { return asValue(v.sessions); }));
  out.push_back(perItem("ringlb_frontend_current_connections", "Client sessions open now.",
                        MetricType::Gauge, fes, frontendLabels,
                        [](const FrontendValues& v) { return asValue(v.current); }));
  out.push_back(perItem("ringlb_frontend_limited_total",
                        "Accepted connections refused (reset) at a connection limit: they waited "
                        "too long for room, or the accept queue was full.",
                        MetricType::Counter, fes, frontendLabels,
                        [](const FrontendValues& v) { return asValue(v.limited); }));
  out.push_back(perItem("ringlb_frontend_bytes_in_total", "Bytes received from clients.",
                        MetricType::Counter, fes, frontendLabels,
                        [](const FrontendValues& v) { return asValue(v.bytesIn); }));
  out.push_back(perItem("ringlb_frontend_bytes_out_total", "Bytes sent to clients.",
                        MetricType::Counter, fes, frontendLabels,
                        [](const FrontendValues& v) { return asValue(v.bytesOut); }));
}

void appendBackends(const std::vector<BackendValues>& bes, std::vector<Family>& out) {
  out.push_back(perItem("ringlb_backend_current_connections",
                        "Sessions open now through the backend (connecting or connected).",
                        MetricType::Gauge, bes, backendLabels,
                        [](const BackendValues& v) { return asValue(v.current); }));
  out.push_back(perItem("ringlb_backend_connect_errors_total",
                        "Failed connect attempts to the backend's servers.", MetricType::Counter,
                        bes, backendLabels,
                        [](const BackendValues& v) { return asValue(v.connectErrors); }));
  out.push_back(perItem("ringlb_backend_retries_total",
                        "Connect attempts after a session's first.", MetricType::Counter, bes,
                        backendLabels, [](const BackendValues& v) { return asValue(v.retries); }));
  out.push_back(perItem("ringlb_backend_no_server_total",
                        "Clients closed because no server was available.", MetricType::Counter,
                        bes, backendLabels,
                        [](const BackendValues& v) { return asValue(v.noServer); }));
  out.push_back(perItem("ringlb_backend_eligible_servers",
                        "Servers taking new connections now (primary or backup).",
                        MetricType::Gauge, bes, backendLabels,
                        [](const BackendValues& v) { return asValue(v.eligibleServers); }));
  out.push_back(perItem("ringlb_backend_active_servers",
                        "Eligible servers that are not backups.", MetricType::Gauge, bes,
                        backendLabels,
                        [](const BackendValues& v) { return asValue(v.activeServers); }));
  out.push_back(perItem("ringlb_backend_backup_servers", "Eligible backup servers.",
                        MetricType::Gauge, bes, backendLabels,
                        [](const BackendValues& v) { return asValue(v.backupServers); }));
}

// Prometheus buckets are cumulative and end with le="+Inf" == count; the Model's are not.
prometheus::ClientMetric::Histogram cumulative(const Histogram& h) {
  prometheus::ClientMetric::Histogram out;
  out.sample_count = h.count;
  out.sample_sum = h.sum;
  uint64_t running = 0;
  for (std::size_t i = 0; i < h.bounds.size(); ++i) {
    if (i < h.buckets.size()) running += h.buckets[i];
    out.bucket.push_back({running, h.bounds[i]});
  }
  out.bucket.push_back({h.count, std::numeric_limits<double>::infinity()});
  return out;
}

void appendServers(const std::vector<ServerValues>& servers, std::vector<Family>& out) {
  out.push_back(perItem("ringlb_server_current_connections",
                        "Sessions open now with the server (connecting or connected).",
                        MetricType::Gauge, servers, serverLabels,
                        [](const ServerValues& v) { return asValue(v.current); }));
  out.push_back(perItem("ringlb_server_connections_total",
                        "Connections established to the server.",
                        MetricType::Counter, servers, serverLabels,
                        [](const ServerValues& v) { return asValue(v.connections); }));
  out.push_back(perItem("ringlb_server_bytes_in_total",
                        "Bytes relayed from clients to the server.", MetricType::Counter,
                        servers, serverLabels,
                        [](const ServerValues& v) { return asValue(v.bytesIn); }));
  out.push_back(perItem("ringlb_server_bytes_out_total",
                        "Bytes relayed from the server to clients.", MetricType::Counter,
                        servers, serverLabels,
                        [](const ServerValues& v) { return asValue(v.bytesOut); }));
  out.push_back(perItem("ringlb_server_connect_errors_total",
                        "Failed connect attempts to the server.", MetricType::Counter, servers,
                        serverLabels,
                        [](const ServerValues& v) { return asValue(v.connectErrors); }));

  Family connectTime = family("ringlb_server_connect_time_seconds",
                              "Time to connect to the server, successful connects only, in "
                              "seconds.",
                              MetricType::Histogram);
  for (const ServerValues& v : servers) {
    prometheus::ClientMetric m;
    m.label = serverLabels(v);
    m.histogram = cumulative(v.connectTime);
    connectTime.metric.push_back(std::move(m));
  }
  out.push_back(std::move(connectTime));

  // One series per state and server, 1 for the server's state: `== 1` selects servers by state
  // and the others stay visible at 0, as HAProxy's haproxy_server_status does.
  Family state = family("ringlb_server_state",
                        "1 for the server's current state (up, down, draining, maintenance), 0 "
                        "for the others.",
                        MetricType::Gauge);
  for (const ServerValues& v : servers) {
    for (const char* s : kServerStates) {
      std::vector<Label> labels = serverLabels(v);
      labels.push_back({"state", s});
      add(state, std::move(labels), v.state == s ? 1 : 0);
    }
  }
  out.push_back(std::move(state));

  out.push_back(perItem("ringlb_server_check_failures_total", "Failed health checks.",
                        MetricType::Counter, servers, serverLabels,
                        [](const ServerValues& v) { return asValue(v.checkFailures); }));
  out.push_back(perItem("ringlb_server_transitions_total",
                        "State changes (health up/down and admin changes).", MetricType::Counter,
                        servers, serverLabels,
                        [](const ServerValues& v) { return asValue(v.transitions); }));
  out.push_back(perItem("ringlb_server_weight",
                        "Effective weight now (after slow start and runtime changes).",
                        MetricType::Gauge, servers, serverLabels,
                        [](const ServerValues& v) { return asValue(v.weight); }));
  out.push_back(perItem("ringlb_server_backup", "1 if the server is a backup, else 0.",
                        MetricType::Gauge, servers, serverLabels,
                        [](const ServerValues& v) { return v.backup ? 1.0 : 0.0; }));
}

void appendSessions(const Model& model, std::vector<Family>& out) {
  Family closed = family("ringlb_sessions_closed_total",
                         "Sessions closed, by reason (completed, client_reset, server_reset, "
                         "client_timeout, ...).",
                         MetricType::Counter);
  for (const auto& [reason, count] : model.closedByReason) {
    add(closed, {{"reason", reason}}, asValue(count));
  }
  out.push_back(std::move(closed));
}

void appendWorkers(const std::vector<WorkerValues>& workers, std::vector<Family>& out) {
  out.push_back(perItem("ringlb_worker_io_uring_submissions_total",
                        "io_uring submission queue entries submitted by the worker.",
                        MetricType::Counter, workers, workerLabels,
                        [](const WorkerValues& v) { return asValue(v.submissions); }));
  out.push_back(perItem("ringlb_worker_io_uring_completions_total",
                        "io_uring completions handled by the worker.", MetricType::Counter,
                        workers, workerLabels,
                        [](const WorkerValues& v) { return asValue(v.completions); }));
  Family directions = family("ringlb_worker_relay_directions_total",
                             "Relay directions (client to server, server to client), by how "
                             "they moved bytes: splice or copy.",
                             MetricType::Counter);
  for (const WorkerValues& v : workers) {
    std::vector<Label> splice = workerLabels(v);
    splice.push_back({"mode", "splice"});
    add(directions, std::move(splice), asValue(v.spliceDirections));
    std::vector<Label> copy = workerLabels(v);
    copy.push_back({"mode", "copy"});
    add(directions, std::move(copy), asValue(v.copyDirections));
  }
  out.push_back(std::move(directions));
  out.push_back(perItem("ringlb_worker_buffer_waits_total",
                        "Relay directions that waited for a provided receive buffer (every buffer "
                        "was in use): a steady rate says global.buffers is too small.",
                        MetricType::Counter, workers, workerLabels,
                        [](const WorkerValues& v) { return asValue(v.bufferWaits); }));
  out.push_back(perItem("ringlb_worker_private_buffers_total",
                        "Private buffers taken for receivers slower than their senders (a short "
                        "send moves the rest out of the shared ring).",
                        MetricType::Counter, workers, workerLabels,
                        [](const WorkerValues& v) { return asValue(v.privateBuffers); }));
}

}  // namespace

std::vector<prometheus::MetricFamily> exposition(const Model& model, Compat compat) {
  std::vector<Family> out;
  appendProcess(model.process, out);
  appendFrontends(model.frontends, out);
  appendBackends(model.backends, out);
  appendServers(model.servers, out);
  appendSessions(model, out);
  appendWorkers(model.workers, out);
  if (compat == Compat::HAProxy) detail::appendHAProxy(model, out);
  return out;
}

}  // namespace ringlb::stats
