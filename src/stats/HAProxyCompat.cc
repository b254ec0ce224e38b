// The haproxy_ families of Compat::HAProxy: the Model's values under the names, types and labels
// of HAProxy's built-in exporter (addons/promex/service-prometheus.c; the names come from its
// promex_st_metrics and promex_global_metrics tables, labels `proxy`, `server`, `state`).
// A name is here only if ringlb has a value of the same meaning and unit; docs/metrics.md lists
// the sources and the names left out (check_failures_total, check_up_down_total,
// backend sessions_total, denied_connections_total ...) with the reason for each.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "Families.h"

namespace ringlb::stats::detail {
namespace {

using prometheus::MetricType;

std::vector<Label> proxyLabels(const std::string& name) { return {{"proxy", name}}; }
std::vector<Label> serverLabels(const ServerValues& v) {
  return {{"proxy", v.backend}, {"server", v.name}};
}

// HAProxy's server states, in its exporter's order (promex_srv_st), and ours for each. ringlb
// has no NOLB (HAProxy's soft-stopping state); its series is exported at 0, as HAProxy exports
// every state for every server.
struct StateName {
  const char* haproxy;
  const char* ringlb;  // nullptr: no ringlb state maps to it
};
constexpr StateName kServerStatus[] = {
    {"DOWN", "down"}, {"UP", "up"}, {"MAINT", "maintenance"}, {"DRAIN", "draining"},
    {"NOLB", nullptr},
};

void appendProcess(const ProcessValues& p, std::vector<Family>& out) {
  Family threads = family("haproxy_process_nbthread",
                          "Number of started threads (ringlb: worker threads).",
                          MetricType::Gauge);
  add(threads, {}, p.workers);
  out.push_back(std::move(threads));

  Family start = family("haproxy_process_start_time_seconds", "Start time in seconds.",
                        MetricType::Gauge);
  add(start, {}, p.startTimeSeconds);
  out.push_back(std::move(start));
}

void appendFrontends(const std::vector<FrontendValues>& fes, std::vector<Family>& out) {
  Family current = family("haproxy_frontend_current_sessions",
                          "Current number of sessions on the frontend.", MetricType::Gauge);
  Family sessions = family("haproxy_frontend_sessions_total",
                           "Total number of sessions.",
                           MetricType::Counter);
  Family connections = family("haproxy_frontend_connections_total",
                              "Total number of new connections accepted on this frontend.",
                              MetricType::Counter);
  Family bytesIn = family("haproxy_frontend_bytes_in_total",
                          "Total number of request bytes (client to server).",
                          MetricType::Counter);
  Family bytesOut = family("haproxy_frontend_bytes_out_total",
                           "Total number of response bytes (server to client).",
                           MetricType::Counter);
  for (const FrontendValues& v : fes) {
    add(current, proxyLabels(v.name), asValue(v.current));
    add(sessions, proxyLabels(v.name), asValue(v.sessions));
    add(connections, proxyLabels(v.name), asValue(v.accepted));
    add(bytesIn, proxyLabels(v.name), asValue(v.bytesIn));
    add(bytesOut, proxyLabels(v.name), asValue(v.bytesOut));
  }
  for (Family* f : {&current, &sessions, &connections, &bytesIn, &bytesOut}) {
    out.push_back(std::move(*f));
  }
}

struct BackendTotals {
  uint64_t bytesIn = 0;
  uint64_t bytesOut = 0;
  bool anyServer = false;
  bool anyUsable = false;  // up (not draining, not in maintenance) with a non-zero weight
};

void appendBackends(const Model& model, std::vector<Family>& out) {
  // HAProxy counts a backend's bytes over its streams, all of which are its servers' bytes.
  std::map<std::string, BackendTotals> totals;
  for (const ServerValues& s : model.servers) {
    BackendTotals& t = totals[s.backend];
    t.bytesIn += s.bytesIn;
    t.bytesOut += s.bytesOut;
    t.anyServer = true;
    if (s.state == "up" && s.weight > 0) t.anyUsable = true;
  }

  Family current = family("haproxy_backend_current_sessions",
                          "Current number of sessions on the backend.", MetricType::Gauge);
  Family errors = family("haproxy_backend_connection_errors_total",
                         "Total number of failed connections to server.", MetricType::Counter);
  Family retries = family("haproxy_backend_retry_warnings_total",
                          "Total number of server connection retries.", MetricType::Counter);
  Family active = family("haproxy_backend_active_servers",
                         "Total number of active UP servers with a non-zero weight.",
                         MetricType::Gauge);
  Family backup = family("haproxy_backend_backup_servers",
                         "Total number of backup UP servers with a non-zero weight.",
                         MetricType::Gauge);
  Family bytesIn = family("haproxy_backend_bytes_in_total",
                          "Total number of request bytes (client to server).",
                          MetricType::Counter);
  Family bytesOut = family("haproxy_backend_bytes_out_total",
                           "Total number of response bytes (server to client).",
                           MetricType::Counter);
  Family status = family("haproxy_backend_status",
                         "Current status of the service, per state label value.",
                         MetricType::Gauge);
  for (const BackendValues& v : model.backends) {
    const BackendTotals& t = totals[v.name];
    // HAProxy: UP while the backend's total effective weight is > 0, or it has no server.
    const bool up = t.anyUsable || !t.anyServer;
    add(current, proxyLabels(v.name), asValue(v.current));
    add(errors, proxyLabels(v.name), asValue(v.connectErrors));
    add(retries, proxyLabels(v.name), asValue(v.retries));
    add(active, proxyLabels(v.name), asValue(v.activeServers));
    add(backup, proxyLabels(v.name), asValue(v.backupServers));
    add(bytesIn, proxyLabels(v.name), asValue(t.bytesIn));
    add(bytesOut, proxyLabels(v.name), asValue(t.bytesOut));
    add(status, {{"proxy", v.name}, {"state", "DOWN"}}, up ? 0 : 1);
    add(status, {{"proxy", v.name}, {"state", "UP"}}, up ? 1 : 0);
  }
  for (Family* f : {&current, &errors, &retries, &active, &backup, &bytesIn, &bytesOut, &status}) {
    out.push_back(std::move(*f));
  }
}

void appendServers(const std::vector<ServerValues>& servers, std::vector<Family>& out) {
  Family current = family("haproxy_server_current_sessions",
                          "Current number of sessions on the server.", MetricType::Gauge);
  Family sessions = family("haproxy_server_sessions_total",
                           "Total number of sessions (ringlb: connections established to the server).",
                           MetricType::Counter);
  Family bytesIn = family("haproxy_server_bytes_in_total",
                          "Total number of request bytes (client to server).",
                          MetricType::Counter);
  Family bytesOut = family("haproxy_server_bytes_out_total",
                           "Total number of response bytes (server to client).",
                           MetricType::Counter);
  Family errors = family("haproxy_server_connection_errors_total",
                         "Total number of failed connections to server.", MetricType::Counter);
  Family weight = family("haproxy_server_weight", "Server's effective weight.",
                         MetricType::Gauge);
  Family status = family("haproxy_server_status",
                         "Current status of the service, per state label value.",
                         MetricType::Gauge);
  for (const ServerValues& v : servers) {
    add(current, serverLabels(v), asValue(v.current));
    add(sessions, serverLabels(v), asValue(v.connections));
    add(bytesIn, serverLabels(v), asValue(v.bytesIn));
    add(bytesOut, serverLabels(v), asValue(v.bytesOut));
    add(errors, serverLabels(v), asValue(v.connectErrors));
    add(weight, serverLabels(v), asValue(v.weight));
    for (const StateName& s : kServerStatus) {
      std::vector<Label> labels = serverLabels(v);
      labels.push_back({"state", s.haproxy});
      add(status, std::move(labels), s.ringlb != nullptr && v.state == s.ringlb ? 1 : 0);
    }
  }
  for (Family* f : {&current, &sessions, &bytesIn, &bytesOut, &errors, &weight, &status}) {
    out.push_back(std::move(*f));
  }
}

}  // namespace

void appendHAProxy(const Model& model, std::vector<Family>& out) {
  appendProcess(model.process, out);
  appendFrontends(model.frontends, out);
  appendBackends(model, out);
  appendServers(model.servers, out);
}

}  // namespace ringlb::stats::detail
