#pragma once
// Builds the YAML of a ringlb config for a test: one backend `app`, any number of frontends
// pointing at it. Defaults are chosen for tests: one worker, short connect timeout, generous
// half-close timeouts (so a test's own pacing never trips client_fin/server_fin), and a
// shutdown grace long enough that only tests about the grace notice it.
#include <cstdint>
#include <string>
#include <vector>

namespace ringlb::test {

struct FrontendSpec {
  std::string name = "web";
  std::string listen = "127.0.0.1:0";
  std::uint64_t maxConnections = 0;  // 0: not written (unlimited)
  bool tcpSmartAccept = false;       // tcp_smart_accept; false: not written (the default)
  bool deferAccept = false;          // defer_accept; false: not written (the default)
};

struct ProxyConfig {
  unsigned workers = 1;
  unsigned buffers = 0;     // global.buffers; 0: not written (default)
  unsigned bufferSize = 0;  // global.buffer_size in bytes; 0: not written (default)
  bool standingReceive = true;  // global.standing_receive; true: not written (the default)
  std::uint64_t maxConnections = 100000;
  std::string shutdownGrace = "10s";
  std::string connectTimeout = "1s";
  std::string clientTimeout = "60s";
  std::string serverTimeout = "60s";
  std::string finTimeout = "30s";  // client_fin and server_fin
  std::string clientFinTimeout;    // overrides finTimeout for client_fin when set
  std::string serverFinTimeout;    // overrides finTimeout for server_fin when set
  unsigned retries = 0;
  std::string relay = "auto";
  std::string balance = "roundrobin";
  std::vector<FrontendSpec> frontends = {FrontendSpec{}};
  std::vector<std::string> servers;  // "127.0.0.1:PORT", named s1, s2, ...
  // servers[i]'s name instead of s<i+1> when given and not empty (a reload test removes a
  // server from the middle and keeps the others' names).
  std::vector<std::string> serverNames;
  // servers[i]'s `weight:` when given and >= 0; not written otherwise.
  std::vector<int> serverWeights;
  // servers[i]'s `state:` (active, draining, maintenance) when given; not written if empty.
  std::vector<std::string> serverStates;
  std::vector<bool> serverBackup;    // servers[i] is a backup when serverBackup[i]
  std::string adminSocket;           // admin.socket; not written if empty
  std::string metricsListen;         // metrics.listen; not written if empty
  std::string metricsCompat;         // metrics.compat; not written if empty
  std::string accessLogPath;         // access_log.path; not written if empty
  std::string accessLogFormat;       // access_log.format; not written if empty
  // The backend's `health_check:` as a YAML flow mapping, e.g. "{ type: tcp, interval: 200ms }";
  // not written if empty.
  std::string healthCheck;
  std::string onMarkedDown;          // backend on_marked_down; not written if empty
  std::string tcpSmartConnect;       // backend tcp_smart_connect; not written if empty

  std::string toYaml() const;

  // Sets the relay from a test variant: a relay mode (copy, splice, auto), or "copy_single":
  // copy with standing receives off, one recv per message, the path kernels before 6.17 take
  // (so it stays covered on a kernel that has the caps).
  void useRelay(const std::string& variant) {
    relay = variant == "copy_single" ? "copy" : variant;
    standingReceive = variant != "copy_single";
  }

  // The common relay test: the defaults above, one server, relay variant `relay` (useRelay).
  static ProxyConfig relayTo(const std::string& server, const std::string& relay) {
    ProxyConfig cfg;
    cfg.useRelay(relay);
    cfg.servers = {server};
    return cfg;
  }
};

}  // namespace ringlb::test
