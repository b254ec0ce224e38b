// Rules that relate several values of the document: names unique in their scope, a frontend's
// backend exists, no listen address used twice (the metrics endpoint's included), the receive
// buffers fit in memory, a health
// check's keys agree, a backend has a server that is not a backup; then inheritance from
// `defaults` and the values that default to others (check intervals, servers' slow_start).
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <unordered_map>

#include "Stages.h"

namespace ringlb::config::detail {
namespace {

// The entity a name belongs to is the parent of its path: "backends[1].name" -> "backends[1]".
std::string ownerOf(const std::string& namePath) {
  const auto dot = namePath.rfind('.');
  return dot == std::string::npos ? namePath : namePath.substr(0, dot);
}

// Reports every name that repeats an earlier one in the same scope, naming the first use.
template <class Draft>
void checkUniqueNames(const std::vector<Draft>& drafts, Diagnostics& diags) {
  std::unordered_map<std::string, const Located*> first;
  for (const Draft& draft : drafts) {
    if (!draft.name) continue;  // missing or not a scalar: already reported
    const auto [it, inserted] = first.emplace(draft.name->text, &*draft.name);
    if (!inserted) {
      const Located& earlier = *it->second;
      diags.error(draft.name->path,
                  "duplicate name " + quoted(draft.name->text) + ": already used by " +
                      ownerOf(earlier.path) + " on line " + std::to_string(earlier.line),
                  draft.name->line);
    }
  }
}

// Sets each frontend's backendIndex to the position of the backend it names. With duplicate
// backend names the first wins; the duplicate is already an error, so it never reaches a running
// config.
void linkBackends(DocumentDraft& draft, Diagnostics& diags) {
  if (!draft.backendsListed) return;
  std::unordered_map<std::string, std::size_t> backendIndex;
  for (std::size_t i = 0; i < draft.backends.size(); ++i) {
    if (draft.backends[i].name) backendIndex.emplace(draft.backends[i].name->text, i);
  }
  for (FrontendDraft& fe : draft.frontends) {
    if (!fe.backend) continue;  // missing or not a scalar: already reported
    const auto it = backendIndex.find(fe.backend->text);
    if (it == backendIndex.end()) {
      diags.error(fe.backend->path, "no backend named " + quoted(fe.backend->text),
                  fe.backend->line);
    } else {
      fe.value.backendIndex = it->second;
    }
  }
}

// Reports each listen address bound a second time anywhere in the file, naming the first use.
// Addresses compare by value ("[0::0]:80" is "[::]:80"). Port 0 asks the kernel for a fresh port
// on each bind, so it never collides.
void checkListenAddresses(const DocumentDraft& draft, Diagnostics& diags) {
  std::map<std::string, const ListenDraft*> first;  // canonical text -> first use
  for (const FrontendDraft& fe : draft.frontends) {
    for (const ListenDraft& listen : fe.listen) {
      if (listen.address.port() == 0) continue;
      const std::string canonical = listen.address.toString();
      const auto [it, inserted] = first.emplace(canonical, &listen);
      if (!inserted) {
        diags.error(listen.path,
                    canonical + " is already used by " + it->second->path + " on line " +
                        std::to_string(it->second->line),
                    listen.line);
      }
    }
  }
}

// The metrics endpoint must not take a frontend's address: with SO_REUSEPORT on the frontend's
// sockets the two might even bind together and split the connections between them. Compared by
// value, as frontends are; port 0 never collides.
void checkMetricsListen(const DocumentDraft& draft, Diagnostics& diags) {
  const MetricsDraft& metrics = draft.metrics;
  if (!metrics.value.listen || metrics.value.listen->port() == 0) return;
  const std::string canonical = metrics.value.listen->toString();
  for (const FrontendDraft& fe : draft.frontends) {
    for (const ListenDraft& listen : fe.listen) {
      if (listen.address.toString() != canonical) continue;
      // The name is left out when it did not read (already reported).
      const std::string owner = fe.name ? " (frontend " + quoted(fe.name->text) + ")" : "";
      diags.error(metrics.listenPath,
                  canonical + " is already used by " + listen.path + owner + " on line " +
                      std::to_string(listen.line),
                  metrics.listenLine);
      return;  // one error is enough, even if several frontends repeat the address
    }
  }
}

// "68719476736 bytes (64.0 GiB)": exact, and readable at a glance.
std::string bytesText(uint64_t bytes) {
  constexpr double kMiB = 1024.0 * 1024.0;
  constexpr double kGiB = kMiB * 1024.0;
  const bool gib = static_cast<double>(bytes) >= kGiB;
  char scaled[32];
  std::snprintf(scaled, sizeof scaled, "%.1f %s", static_cast<double>(bytes) / (gib ? kGiB : kMiB),
                gib ? "GiB" : "MiB");
  return std::to_string(bytes) + " bytes (" + scaled + ")";
}

// Rejects receive buffers the machine cannot back. Every worker maps buffers x buffer_size bytes
// for its provided-buffer ring at start. The kernel takes buffers from the head of that ring and
// they return at its tail, so under sustained traffic every buffer is used in turn and, once
// touched, stays resident: the steady state is the whole product, for every worker. A total above
// physical memory cannot run: at best a worker's mmap is refused at start (which --check used to
// let through), at worst ringlb starts and the OOM killer ends it under load. The bound is
// physical memory, not memory plus swap (buffers paged out would stall the data path), and not a
// fraction of it: this rejects what cannot work and is no sizing guide (sessions, pipes and the
// kernel's socket buffers are not counted). A cgroup memory limit below the machine's memory is
// not seen here.
void checkBufferMemory(const GlobalDraft& global, const Machine& machine, Diagnostics& diags) {
  // A sizing key that failed to read is already an error; its default would only add noise.
  if (global.sizingUnread || machine.memoryBytes == 0) return;
  const Global& g = global.value;
  const bool autoWorkers = g.workers == 0;
  const uint64_t workers = autoWorkers ? std::max(1u, machine.cpus) : g.workers;
  // At most 2^15 x 2^20 x 2^10 = 2^45: no overflow.
  const uint64_t total = uint64_t{g.buffers} * g.bufferSize * workers;
  if (total <= machine.memoryBytes) return;
  // Reported at the key most likely to be lowered: buffers, else buffer_size, else workers.
  std::string path = "global";
  int line = 0;
  if (global.buffersLine > 0) {
    path = "global.buffers";
    line = global.buffersLine;
  } else if (global.bufferSizeLine > 0) {
    path = "global.buffer_size";
    line = global.bufferSizeLine;
  } else if (global.workersLine > 0) {
    path = "global.workers";
    line = global.workersLine;
  }
  diags.error(std::move(path),
              std::to_string(g.buffers) + " buffers x " + std::to_string(g.bufferSize) +
                  " bytes (buffer_size) x " + std::to_string(workers) + " workers" +
                  (autoWorkers ? " (auto: the CPUs available)" : "") + " = " + bytesText(total) +
                  " of receive buffers, more than the " + bytesText(machine.memoryBytes) +
                  " of physical memory; lower global.buffers or global.buffer_size",
              line);
}

// "2s", "1500ms", "5m": the largest unit that states the value exactly, for messages about values
// that may be defaults (and so have no text as written).
std::string durationText(Duration value) {
  struct Unit {
    int64_t ms;
    const char* suffix;
  };
  constexpr Unit kUnits[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
  const int64_t ms = value.count();
  for (const Unit& unit : kUnits) {
    if (ms != 0 && ms % unit.ms == 0) return std::to_string(ms / unit.ms) + unit.suffix;
  }
  return std::to_string(ms) + "ms";
}

// The rules relating two keys of one `health_check:` map. Each is skipped when a key it needs
// failed to read (already reported), so one mistake gives one error.
void checkHealthCheck(const HealthCheckDraft& hc, Diagnostics& diags) {
  const HealthCheck& v = hc.value;
  // A check may still be waiting when the next one of the same server is due: HAProxy accepts
  // that, but then either checks overlap or the interval stretches, and neither is what the
  // settings say. Rejected here so the health checker may rely on timeout <= interval.
  if (!hc.timingUnread && v.timeout > v.interval) {
    const std::string overlap = ": checks would overlap (HAProxy allows it; ringlb does not)";
    if (hc.timeoutLine > 0) {
      diags.error(hc.path + ".timeout",
                  durationText(v.timeout) + " is longer than interval (" +
                      durationText(v.interval) + (hc.intervalLine > 0 ? "" : ", the default") +
                      ")" + overlap,
                  hc.timeoutLine);
    } else {
      diags.error(hc.path + ".interval",
                  durationText(v.interval) + " is shorter than timeout (" +
                      durationText(v.timeout) + ", the default)" + overlap +
                      "; set a timeout no longer than interval",
                  hc.intervalLine);
    }
  }
  if (hc.httpLine > 0 && hc.typeLine > 0 && v.type != CheckType::Http) {
    diags.error(hc.path + ".http",
                std::string("applies only to type: http, and type is ") +
                    (v.type == CheckType::Tcp ? "tcp" : "none"),
                hc.httpLine);
  }
}

// A backup server takes traffic only while no other server can; with nothing but backups that
// never happens, so the backend could never serve.
void checkBackups(const BackendDraft& be, Diagnostics& diags) {
  if (be.servers.empty()) return;  // an empty or unread list is already an error
  for (const ServerDraft& server : be.servers) {
    if (!server.value.backup) return;
  }
  diags.error(be.serversPath, "every server is a backup; at least one must not be",
              be.serversLine);
}

Timeouts inherit(Timeouts base, const TimeoutOverrides& set) {
  if (set.connect) base.connect = *set.connect;
  if (set.client) base.client = *set.client;
  if (set.server) base.server = *set.server;
  if (set.clientFin) base.clientFin = *set.clientFin;
  if (set.serverFin) base.serverFin = *set.serverFin;
  return base;
}

// Only the keys of `side` can be set in a frontend's or backend's `timeouts` (Schema.cc rejects
// the others), so applying all five overrides is the same as applying that side's.
Config resolveValues(DocumentDraft& draft) {
  Config config;
  config.global = draft.global.value;
  config.defaultTimeouts = inherit(Timeouts{}, draft.defaults.timeouts);
  // HAProxy: an unset client-fin/server-fin means the plain client/server timeout applies to
  // half-closed connections too. A short default would cut a client that half-closes after its
  // request and then waits for a slow answer.
  const bool clientFinSet = draft.defaults.timeouts.clientFin.has_value();
  const bool serverFinSet = draft.defaults.timeouts.serverFin.has_value();
  if (!clientFinSet) config.defaultTimeouts.clientFin = config.defaultTimeouts.client;
  if (!serverFinSet) config.defaultTimeouts.serverFin = config.defaultTimeouts.server;
  config.defaultRetries = draft.defaults.retries.value_or(config.defaultRetries);
  config.admin = std::move(draft.admin);
  config.metrics = draft.metrics.value;
  config.accessLog = std::move(draft.accessLog);
  for (BackendDraft& be : draft.backends) {
    Backend backend = std::move(be.value);
    backend.retries = be.retries.value_or(config.defaultRetries);
    HealthCheck& check = backend.healthCheck;
    check = std::move(be.healthCheck.value);
    check.fastInterval = be.healthCheck.fastInterval.value_or(check.interval);
    check.downInterval = be.healthCheck.downInterval.value_or(check.interval);
    backend.timeouts = inherit(config.defaultTimeouts, be.timeouts);
    if (!serverFinSet && !be.timeouts.serverFin) backend.timeouts.serverFin = backend.timeouts.server;
    for (ServerDraft& server : be.servers) {
      server.value.slowStart = server.slowStart.value_or(backend.slowStart);
      backend.servers.push_back(std::move(server.value));
    }
    config.backends.push_back(std::move(backend));
  }
  for (FrontendDraft& fe : draft.frontends) {
    Frontend frontend = std::move(fe.value);
    frontend.timeouts = inherit(config.defaultTimeouts, fe.timeouts);
    if (!clientFinSet && !fe.timeouts.clientFin) frontend.timeouts.clientFin = frontend.timeouts.client;
    for (const ListenDraft& listen : fe.listen) frontend.listen.push_back(listen.address);
    config.frontends.push_back(std::move(frontend));
  }
  return config;
}

}  // namespace

Config resolve(DocumentDraft draft, const Machine& machine, Diagnostics& diags) {
  checkUniqueNames(draft.frontends, diags);
  checkUniqueNames(draft.backends, diags);
  for (const BackendDraft& be : draft.backends) {
    checkUniqueNames(be.servers, diags);
    checkHealthCheck(be.healthCheck, diags);
    checkBackups(be, diags);
  }
  linkBackends(draft, diags);
  checkListenAddresses(draft, diags);
  checkMetricsListen(draft, diags);
  checkBufferMemory(draft.global, machine, diags);
  return resolveValues(draft);
}

}  // namespace ringlb::config::detail
