#pragma once
// What one scrape reports, as plain values: the control plane fills a Model (summing every
// worker's counters and reading the server registry) and stats::exposition() turns it into
// Prometheus metric families, under ringlb's names and, with `metrics.compat: haproxy`, also
// under the names HAProxy's built-in exporter uses. Plain data, no threads, no sockets: the
// names and labels (a contract, docs/metrics.md) are unit-tested on hand-made Models.
//
// Directions, as HAProxy counts them: "in" is client -> server (bytes received from clients),
// "out" is server -> client.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ringlb::stats {

// A histogram as Prometheus wants it: `bounds` ascending (upper bounds in seconds, +Inf implied),
// `buckets` one count per bound plus one for +Inf, NOT cumulative (exposition accumulates).
struct Histogram {
  std::vector<double> bounds;
  std::vector<uint64_t> buckets;  // bounds.size() + 1
  double sum = 0;                 // seconds
  uint64_t count = 0;             // == sum of buckets
};

struct FrontendValues {
  std::string name;
  uint64_t accepted = 0;  // connections accepted from the kernel, total (with those refused at a
                          // limit, or during a stop, before they became sessions)
  uint64_t sessions = 0;  // sessions started, total
  uint64_t current = 0;   // sessions open now
  uint64_t limited = 0;   // connections refused at a connection limit (waited too long, or the
                          // accept queue was full), total
  uint64_t bytesIn = 0;   // from clients, total
  uint64_t bytesOut = 0;  // to clients, total
};

struct BackendValues {
  std::string name;
  uint64_t current = 0;        // sessions open now (connecting or connected)
  uint64_t connectErrors = 0;  // failed connect attempts to its servers, total
  uint64_t retries = 0;        // connect attempts after the first, total
  uint64_t noServer = 0;       // clients closed because no server was available, total
  uint64_t eligibleServers = 0;  // servers taking new connections now (primary or backup)
  uint64_t activeServers = 0;    // eligible non-backup servers (HAProxy's active_servers)
  uint64_t backupServers = 0;    // eligible backup servers (HAProxy's backup_servers)
};

// The server states reported one gauge each (1 for the current one), in this order. ringlb's
// names (label `state`): "up", "down", "draining", "maintenance". A draining server is
// "draining" whatever its health; a server in maintenance "maintenance"; otherwise up or down
// (a server going down, "UP 1/3", is still "up").
inline constexpr const char* kServerStates[] = {"up", "down", "draining", "maintenance"};

struct ServerValues {
  std::string backend;
  std::string name;
  std::string state;           // one of kServerStates
  bool backup = false;
  uint64_t current = 0;        // sessions open now
  uint64_t connections = 0;    // connections established to it, total
  uint64_t bytesIn = 0;        // client -> server, total
  uint64_t bytesOut = 0;       // server -> client, total
  uint64_t connectErrors = 0;  // failed connect attempts, total
  Histogram connectTime;       // successful connects, seconds
  uint64_t checkFailures = 0;  // failed health checks, total
  uint64_t transitions = 0;    // up/down (and admin) state changes, total
  uint64_t weight = 0;         // effective weight now
};

struct WorkerValues {
  unsigned id = 0;
  uint64_t submissions = 0;  // io_uring submission queue entries submitted, total
  uint64_t completions = 0;  // completions handled, total
  uint64_t spliceDirections = 0;  // relay directions that used splice, total
  uint64_t copyDirections = 0;    // relay directions that copied (recv/send), total
  uint64_t bufferWaits = 0;       // directions parked for a provided buffer, total
  uint64_t privateBuffers = 0;    // private buffers taken for slow receivers, total
};

struct ProcessValues {
  unsigned workers = 0;
  std::string version;          // ringlb's
  std::string liburingVersion;  // "2.3"
  std::string kernel;           // uname -r
  double startTimeSeconds = 0;  // unix time the process started
  uint64_t reloadsOk = 0;
  uint64_t reloadsFailed = 0;
  double lastReloadSeconds = 0;  // unix time of the last reload attempt; 0: none yet
  bool lastReloadOk = true;
  uint64_t accessLogDropped = 0;  // access log lines dropped because a worker's ring was full
};

struct Model {
  ProcessValues process;
  std::vector<FrontendValues> frontends;
  std::vector<BackendValues> backends;
  std::vector<ServerValues> servers;
  std::vector<WorkerValues> workers;
  // Sessions closed, by CloseReason name ("completed", "client_reset", ...: proxy::toString),
  // every reason listed even at 0.
  std::vector<std::pair<std::string, uint64_t>> closedByReason;
};

}  // namespace ringlb::stats
