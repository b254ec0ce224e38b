#pragma once
// Plain configuration structs with their defaults. The loader (config/Loader.h) fills them from
// YAML and resolves inheritance from `defaults:`, so consumers read final values and never look
// at `defaults` themselves. Immutable once loaded: a reload builds a new Config.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringlb/lb/Algorithm.h"
#include "ringlb/lb/Balancer.h"
#include "ringlb/net/Address.h"

namespace ringlb::config {

using Duration = std::chrono::milliseconds;

enum class RelayMode { Auto, Splice, Copy };

// HAProxy's timeout meanings. client/server are inactivity timeouts on that side; *_fin replace
// them once that side is half-closed. The loader sets an unset *_fin to the client/server value
// of the same level (HAProxy's behaviour); the 1s below only applies to a default-constructed
// struct.
struct Timeouts {
  Duration connect{5000};
  Duration client{60000};
  Duration server{60000};
  Duration clientFin{1000};
  Duration serverFin{1000};
};

// ---- health checks, server states, admin socket (issue 9) ---------------------------------------
// Parsed, validated and defaulted by the loader; applied by the health checker and the admin
// socket. Until those consume them, a loaded value changes nothing at run time.

enum class CheckType : uint8_t { None, Tcp, Http };

// What an operator set a server to; the health checker's up/down state is separate from it.
// Draining: no new sessions, existing ones continue. Maintenance: no new sessions and no checks.
enum class AdminState : uint8_t { Active, Draining, Maintenance };

// What happens to a server's established sessions when its checks mark it down: Keep lets them
// run (HAProxy's default); Shutdown closes them (on-marked-down shutdown-sessions).
enum class OnMarkedDown : uint8_t { Keep, Shutdown };

// Inclusive; both within 100..599 and low <= high once loaded.
struct StatusRange {
  uint16_t low = 200;
  uint16_t high = 399;
};

// The request of a `type: http` check. Loaded values are safe to write into a request line and
// header as they are: method is 1..16 letters A-Z; path starts with '/', is at most 1024 bytes
// and has no spaces, control characters or non-ASCII bytes; host has none of those either.
struct HttpCheck {
  std::string method = "GET";
  std::string path = "/";
  std::string host;  // empty: no Host header beyond the server address
  // A response matching any range passes. Default: one range, 200-399. Built with (count, value)
  // rather than {{200, 399}}: GCC 12 warns (-Wmaybe-uninitialized, a false positive) about the
  // initializer_list's backing array wherever the struct is copied, and warnings are errors.
  std::vector<StatusRange> expectStatus = std::vector<StatusRange>(1, StatusRange{200, 399});
};

// Active checks of one backend's servers. Once loaded: interval, fastInterval, downInterval and
// timeout are > 0 and timeout <= interval; rise and fall are 1..1000.
struct HealthCheck {
  CheckType type = CheckType::None;
  Duration interval{2000};
  Duration timeout{1000};
  uint32_t rise = 2;        // consecutive successes that mark a down server up
  uint32_t fall = 3;        // consecutive failures that mark an up server down
  // The interval while a server is in transition (up but failing, or down but succeeding), and
  // while it is down. Resolved by the loader: unset in YAML -> equal to interval, so never 0 in a
  // loaded Config.
  Duration fastInterval{0};
  Duration downInterval{0};
  HttpCheck http;           // used when type == Http (`http:` with another type is an error)
  uint16_t port = 0;        // 0: the server's traffic port
  // `initial: up|down`: the state a server starts in. Default down when checks are on
  // (type != None); irrelevant when type is None (servers are up).
  bool initialUp = false;
};

// Failures seen on live traffic that mark a server down, as HAProxy's observe layer4 +
// error-limit.
struct PassiveCheck {
  uint32_t consecutiveFailures = 5;  // 0..1000; 0 = off
};

struct Admin {
  std::string socket;  // empty = no admin socket; else an absolute path of at most 107 bytes
  uint32_t mode = 0600;  // permission bits of the socket file, <= 0777
};

// ---- observability: the metrics endpoint and the access log ------------------------------------
// Parsed, validated and defaulted by the loader. Until the metrics endpoint and the workers'
// access logging consume them, a loaded value changes nothing at run time.

// Which names GET /metrics exports: ringlb's own always; with HAProxy, also the names HAProxy's
// built-in Prometheus exporter uses, so existing dashboards and alerts keep working.
enum class MetricsCompat : uint8_t { None, HAProxy };

struct Metrics {
  // Where GET /metrics is served; none: no metrics endpoint. Once loaded it differs from every
  // frontend's listen address (port 0, "the kernel picks", never collides).
  std::optional<net::Address> listen;
  MetricsCompat compat = MetricsCompat::None;
};

enum class AccessLogFormat : uint8_t { Text, Json };

// One line per finished session (log/AccessFormat.h has both formats).
struct AccessLog {
  // Empty: no access log. kAccessLogStdout: standard output. Otherwise, once loaded, an absolute
  // path of at most 4095 bytes without NUL bytes, opened in append mode (and reopened on
  // rotation).
  std::string path;
  AccessLogFormat format = AccessLogFormat::Text;
};

// The one `access_log.path` that is not a file. Unambiguous: a file path must be absolute.
inline constexpr std::string_view kAccessLogStdout = "stdout";

struct Server {
  std::string name;
  net::Address address;
  uint32_t weight = 100;        // 0..1000
  uint32_t maxConnections = 0;  // 0 = unlimited
  int line = 0;                 // where it was declared, for messages
  AdminState state = AdminState::Active;
  bool backup = false;          // used only when no non-backup server is up
  // How long a server that comes up takes to ramp to its full weight; 0 = off. Resolved: the
  // server's own slow_start, else its backend's.
  Duration slowStart{0};
};

struct Backend {
  std::string name;
  RelayMode relay = RelayMode::Auto;
  lb::Algorithm balance = lb::Algorithm::Rendezvous;
  lb::HashKey hashKey = lb::HashKey::SourceIp;
  uint32_t retries = 2;         // resolved: backend value, else defaults.retries
  Timeouts timeouts;            // resolved: connect/server/server_fin are the ones used
  std::vector<Server> servers;  // at least one, and at least one that is not a backup
  int line = 0;
  HealthCheck healthCheck;
  PassiveCheck passive;
  OnMarkedDown onMarkedDown = OnMarkedDown::Keep;
  Duration slowStart{0};        // as written (0 = off); read Server::slowStart, the resolved one
  // Hold the server handshake's last ACK back until the first bytes go out (HAProxy's
  // tcp-smart-connect; docs/architecture.md "The handshake's last ACK"), for connections whose
  // frontend defers accept (their request is known to be waiting). Off by default, as HAProxy.
  bool tcpSmartConnect = false;
};

struct Frontend {
  std::string name;
  std::vector<net::Address> listen;
  std::string backend;          // validated to name an existing backend
  std::size_t backendIndex = 0; // index into Config::backends, set by the loader
  uint64_t maxConnections = 0;  // 0 = unlimited (global.max_connections still applies)
  Timeouts timeouts;            // resolved: client/client_fin are the ones used
  // Accepted connections start with delayed ACKs: the client's first bytes are acknowledged by
  // the response instead of a segment of their own (HAProxy's tcp-smart-accept).
  bool tcpSmartAccept = false;
  // The kernel hands connections over only once the client has sent something (TCP_DEFER_ACCEPT,
  // up to 1 s; HAProxy's bind option defer-accept): for protocols where the client speaks first.
  bool deferAccept = false;
  int line = 0;
};

struct Global {
  unsigned workers = 0;               // 0 = auto: one per online CPU
  uint64_t maxConnections = 100000;   // across all workers and frontends
  Duration shutdownGrace{30000};
  uint64_t hashSeed = lb::kDefaultHashSeed;
  // Provided receive buffers per worker (a power of two) and their size in bytes: HAProxy's
  // tune.bufsize, roughly. Memory per worker is up to buffers x buffer_size, touched only as
  // connections move data; the loader rejects a total over all workers above physical memory.
  unsigned buffers = 1024;
  unsigned bufferSize = 32 * 1024;
  // Standing (multishot) receives for interactive copy-mode directions, where the kernel can
  // bound them (Linux 6.17+; see proxy/Relay.h). false: one recv per message, as on older
  // kernels. Read at start (workers keep it for their life).
  bool standingReceive = true;
};

struct Config {
  std::string source;  // file it was read from (or "<string>")
  Global global;
  Timeouts defaultTimeouts;
  uint32_t defaultRetries = 2;
  std::vector<Frontend> frontends;
  std::vector<Backend> backends;
  Admin admin;
  Metrics metrics;
  AccessLog accessLog;
};

}  // namespace ringlb::config
