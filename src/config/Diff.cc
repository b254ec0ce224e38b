#include "ringlb/config/Diff.h"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace ringlb::config {
namespace {

// ---- comparison helpers: one per struct, field by field, never a `line` ------------------------

// Frontends use only the client side of their resolved timeouts.
bool sameClientTimeouts(const Timeouts& a, const Timeouts& b) {
  return a.client == b.client && a.clientFin == b.clientFin;
}

// Backends use only the connect and server side of their resolved timeouts.
bool sameServerTimeouts(const Timeouts& a, const Timeouts& b) {
  return a.connect == b.connect && a.server == b.server && a.serverFin == b.serverFin;
}

bool sameStatusRanges(const std::vector<StatusRange>& a, const std::vector<StatusRange>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const StatusRange& x, const StatusRange& y) {
                      return x.low == y.low && x.high == y.high;
                    });
}

bool sameHttpCheck(const HttpCheck& a, const HttpCheck& b) {
  return a.method == b.method && a.path == b.path && a.host == b.host &&
         sameStatusRanges(a.expectStatus, b.expectStatus);
}

bool sameHealthCheck(const HealthCheck& a, const HealthCheck& b) {
  return a.type == b.type && a.interval == b.interval && a.timeout == b.timeout &&
         a.rise == b.rise && a.fall == b.fall && a.fastInterval == b.fastInterval &&
         a.downInterval == b.downInterval && sameHttpCheck(a.http, b.http) && a.port == b.port &&
         a.initialUp == b.initialUp;
}

// Listen addresses as a set: reordering them changes no socket. toString gives the canonical
// form, so "[0::1]:80" and "[::1]:80" are the same address.
std::vector<std::string> addressSet(const std::vector<net::Address>& addresses) {
  std::vector<std::string> out;
  out.reserve(addresses.size());
  for (const net::Address& a : addresses) out.push_back(a.toString());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Name -> element, for matching by identity. Views into `items`, which must outlive the map.
template <class T>
std::unordered_map<std::string_view, const T*> byName(const std::vector<T>& items) {
  std::unordered_map<std::string_view, const T*> out;
  out.reserve(items.size());
  for (const T& item : items) out.emplace(item.name, &item);
  return out;
}

template <class T>
const T* lookup(const std::unordered_map<std::string_view, const T*>& map, std::string_view name) {
  auto it = map.find(name);
  return it == map.end() ? nullptr : it->second;
}

// ---- per-level field lists, in the schema's key order -------------------------------------------

std::vector<std::string> frontendFields(const Frontend& a, const Frontend& b) {
  std::vector<std::string> f;
  if (addressSet(a.listen) != addressSet(b.listen)) f.emplace_back("listen");
  if (a.backend != b.backend) f.emplace_back("backend");
  if (a.maxConnections != b.maxConnections) f.emplace_back("max_connections");
  if (!sameClientTimeouts(a.timeouts, b.timeouts)) f.emplace_back("timeouts");
  if (a.tcpSmartAccept != b.tcpSmartAccept) f.emplace_back("tcp_smart_accept");
  if (a.deferAccept != b.deferAccept) f.emplace_back("defer_accept");
  return f;
}

// The kept servers (in both backends) in a different relative order. Added and removed servers
// do not count: they are server Changes of their own.
bool keptServersReordered(const Backend& a, const Backend& b) {
  const auto inA = byName(a.servers);
  const auto inB = byName(b.servers);
  std::vector<std::string_view> orderA;
  std::vector<std::string_view> orderB;
  for (const Server& s : a.servers)
    if (lookup(inB, s.name)) orderA.push_back(s.name);
  for (const Server& s : b.servers)
    if (lookup(inA, s.name)) orderB.push_back(s.name);
  return orderA != orderB;
}

std::vector<std::string> backendFields(const Backend& a, const Backend& b) {
  std::vector<std::string> f;
  if (a.relay != b.relay) f.emplace_back("relay");
  if (a.balance != b.balance) f.emplace_back("balance");
  if (a.hashKey != b.hashKey) f.emplace_back("hash_key");
  if (a.retries != b.retries) f.emplace_back("retries");
  if (!sameServerTimeouts(a.timeouts, b.timeouts)) f.emplace_back("timeouts");
  if (keptServersReordered(a, b)) f.emplace_back("servers");
  if (!sameHealthCheck(a.healthCheck, b.healthCheck)) f.emplace_back("health_check");
  if (a.passive.consecutiveFailures != b.passive.consecutiveFailures) f.emplace_back("passive");
  if (a.onMarkedDown != b.onMarkedDown) f.emplace_back("on_marked_down");
  if (a.slowStart != b.slowStart) f.emplace_back("slow_start");
  if (a.tcpSmartConnect != b.tcpSmartConnect) f.emplace_back("tcp_smart_connect");
  return f;
}

std::vector<std::string> serverFields(const Server& a, const Server& b) {
  std::vector<std::string> f;
  if (!(a.address == b.address)) f.emplace_back("address");
  if (a.weight != b.weight) f.emplace_back("weight");
  if (a.maxConnections != b.maxConnections) f.emplace_back("max_connections");
  if (a.state != b.state) f.emplace_back("state");
  if (a.backup != b.backup) f.emplace_back("backup");
  if (a.slowStart != b.slowStart) f.emplace_back("slow_start");
  return f;
}

// ---- the three groups of `changes` --------------------------------------------------------------

// Identity of an element: its name, or "backend/name" for a server (`prefix` is the backend).
std::string identity(std::string_view prefix, const std::string& name) {
  return prefix.empty() ? name : std::string(prefix) + "/" + name;
}

// Added and Changed elements, in `next`'s order.
template <class T, class FieldsFn>
void keptAndAdded(const std::vector<T>& running, const std::vector<T>& next, const char* what,
                  std::string_view prefix, FieldsFn fields, std::vector<Change>& out) {
  const auto old = byName(running);
  for (const T& item : next) {
    const T* before = lookup(old, item.name);
    if (!before) {
      out.push_back({ChangeKind::Added, what, identity(prefix, item.name), {}});
    } else if (std::vector<std::string> f = fields(*before, item); !f.empty()) {
      out.push_back({ChangeKind::Changed, what, identity(prefix, item.name), std::move(f)});
    }
  }
}

// Removed elements, in `running`'s order.
template <class T>
void removed(const std::vector<T>& running, const std::vector<T>& next, const char* what,
             std::string_view prefix, std::vector<Change>& out) {
  const auto now = byName(next);
  for (const T& item : running)
    if (!lookup(now, item.name))
      out.push_back({ChangeKind::Removed, what, identity(prefix, item.name), {}});
}

template <class T, class FieldsFn>
void diffLevel(const std::vector<T>& running, const std::vector<T>& next, const char* what,
               FieldsFn fields, std::vector<Change>& out) {
  keptAndAdded(running, next, what, "", fields, out);
  removed(running, next, what, "", out);
}

// The servers of the backends in both configs, as one group: kept/added ones backend by backend in
// `next`'s order, then the removed ones backend by backend in `running`'s order. An added or
// removed backend carries its servers and adds nothing here.
void diffServers(const Config& running, const Config& next, std::vector<Change>& out) {
  const auto old = byName(running.backends);
  const auto now = byName(next.backends);
  for (const Backend& be : next.backends)
    if (const Backend* before = lookup(old, be.name))
      keptAndAdded(before->servers, be.servers, "server", be.name, &serverFields, out);
  for (const Backend& be : running.backends)
    if (const Backend* after = lookup(now, be.name))
      removed(be.servers, after->servers, "server", be.name, out);
}

// ---- global-level keys --------------------------------------------------------------------------

std::string orNone(const std::string& value) { return value.empty() ? "none" : value; }

std::string octal(uint32_t mode) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0%03o", static_cast<unsigned>(mode));
  return buffer;
}

std::string listenText(const std::optional<net::Address>& listen) {
  return listen ? listen->toString() : "none";
}

std::string compatText(MetricsCompat compat) {
  return compat == MetricsCompat::HAProxy ? "haproxy" : "none";
}

bool sameListen(const std::optional<net::Address>& a, const std::optional<net::Address>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || *a == *b;
}

void restartKeys(const Config& a, const Config& b, ConfigDiff& d) {
  auto need = [&d](const char* key, std::string running) {
    d.restartRequired.emplace_back(key);
    d.restartRunning.push_back(std::move(running));
  };
  if (a.global.workers != b.global.workers)
    need("global.workers", a.global.workers == 0 ? "auto" : std::to_string(a.global.workers));
  if (a.global.buffers != b.global.buffers)
    need("global.buffers", std::to_string(a.global.buffers));
  if (a.global.bufferSize != b.global.bufferSize)
    need("global.buffer_size", std::to_string(a.global.bufferSize));
  if (a.global.standingReceive != b.global.standingReceive)
    need("global.standing_receive", a.global.standingReceive ? "true" : "false");
  if (a.admin.socket != b.admin.socket) need("admin.socket", orNone(a.admin.socket));
  if (a.admin.mode != b.admin.mode) need("admin.mode", octal(a.admin.mode));
  if (!sameListen(a.metrics.listen, b.metrics.listen))
    need("metrics.listen", listenText(a.metrics.listen));
  if (a.metrics.compat != b.metrics.compat) need("metrics.compat", compatText(a.metrics.compat));
  if (a.accessLog.path != b.accessLog.path) need("access_log.path", orNone(a.accessLog.path));
}

void liveGlobalKeys(const Config& a, const Config& b, ConfigDiff& d) {
  if (a.global.maxConnections != b.global.maxConnections)
    d.globalChanged.emplace_back("global.max_connections");
  if (a.global.shutdownGrace != b.global.shutdownGrace)
    d.globalChanged.emplace_back("global.shutdown_grace");
  if (a.global.hashSeed != b.global.hashSeed) d.globalChanged.emplace_back("global.hash_seed");
  if (a.accessLog.format != b.accessLog.format) d.globalChanged.emplace_back("access_log.format");
}

std::string describeChange(const Change& c) {
  const std::string quoted = "'" + c.name + "'";
  if (c.kind == ChangeKind::Changed) {
    std::string line = c.what + " " + quoted + " changed: ";
    for (std::size_t i = 0; i < c.fields.size(); ++i) {
      if (i) line += ", ";
      line += c.fields[i];
    }
    return line;
  }
  const char* verb = c.kind == ChangeKind::Added ? " added" : " removed";
  if (c.what == "server") {
    const std::string backend = c.name.substr(0, c.name.find('/'));
    return "backend '" + backend + "': server " + quoted + verb;
  }
  return c.what + " " + quoted + verb;
}

}  // namespace

bool ConfigDiff::empty() const {
  return changes.empty() && restartRequired.empty() && globalChanged.empty();
}

std::vector<std::string> ConfigDiff::describe() const {
  if (empty()) return {"no changes"};
  std::vector<std::string> lines;
  lines.reserve(changes.size() + globalChanged.size() + restartRequired.size());
  for (const Change& c : changes) lines.push_back(describeChange(c));
  for (const std::string& key : globalChanged) lines.push_back(key + " changed");
  for (std::size_t i = 0; i < restartRequired.size(); ++i) {
    const std::string running = i < restartRunning.size() ? restartRunning[i] : "?";
    lines.push_back(restartRequired[i] + " changed: needs a restart (still " + running + ")");
  }
  return lines;
}

ConfigDiff diff(const Config& running, const Config& next) {
  ConfigDiff d;
  diffLevel(running.frontends, next.frontends, "frontend", &frontendFields, d.changes);
  diffLevel(running.backends, next.backends, "backend", &backendFields, d.changes);
  diffServers(running, next, d.changes);
  restartKeys(running, next, d);
  liveGlobalKeys(running, next, d);
  return d;
}

void keepRestartOnly(const Config& running, Config& next) {
  next.global.workers = running.global.workers;
  next.global.buffers = running.global.buffers;
  next.global.bufferSize = running.global.bufferSize;
  next.global.standingReceive = running.global.standingReceive;
  next.admin.socket = running.admin.socket;
  next.admin.mode = running.admin.mode;
  next.metrics.listen = running.metrics.listen;
  next.metrics.compat = running.metrics.compat;
  next.accessLog.path = running.accessLog.path;
}

}  // namespace ringlb::config
