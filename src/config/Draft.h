#pragma once
// Private to config/: the document as read, before cross-references and inheritance are
// resolved. Drafts keep what resolution needs and Config has no room for: where each name and
// address was written (for "already used at ..." messages) and which inheritable values were
// set explicitly (std::optional) rather than defaulted.
#include <optional>
#include <string>
#include <vector>

#include "ringlb/config/Config.h"

namespace ringlb::config::detail {

// A value as written, with its path and line.
struct Located {
  std::string text;
  std::string path;
  int line = 0;
};

// Timeouts set in one `timeouts:` map; unset ones are inherited.
struct TimeoutOverrides {
  std::optional<Duration> connect;
  std::optional<Duration> client;
  std::optional<Duration> server;
  std::optional<Duration> clientFin;
  std::optional<Duration> serverFin;
};

struct DefaultsDraft {
  TimeoutOverrides timeouts;
  std::optional<uint32_t> retries;
};

struct ListenDraft {
  net::Address address;
  std::string path;
  int line = 0;
};

struct FrontendDraft {
  // name, maxConnections, tcpSmartAccept, deferAccept and line are final; the rest is resolved
  Frontend value;
  std::optional<Located> name;
  std::optional<Located> backend;
  std::vector<ListenDraft> listen;
  TimeoutOverrides timeouts;
};

struct ServerDraft {
  Server value;  // final once read, except slowStart
  std::optional<Located> name;
  std::optional<Duration> slowStart;  // unset: the backend's applies
};

// One `health_check:` map. Rules relating two of its keys (timeout within interval, `http:` only
// with type http) are checked in Resolve.cc; each needs to know whether a key was written, where,
// and whether it read, so that a key that failed to read adds no second error.
struct HealthCheckDraft {
  HealthCheck value;  // final once read, except fastInterval and downInterval
  std::string path;   // "backends[0].health_check"
  std::optional<Duration> fastInterval;
  std::optional<Duration> downInterval;
  int typeLine = 0;      // where type was read; 0: missing or unread
  int intervalLine = 0;  // where interval was written; 0: not written, the default applies
  int timeoutLine = 0;   // likewise for timeout
  int httpLine = 0;      // where `http:` was written, whether or not it read
  bool timingUnread = false;  // interval or timeout was written but did not read
};

struct BackendDraft {
  Backend value;  // name, relay, balance, hashKey, passive, onMarkedDown, slowStart,
                  // tcpSmartConnect and line are final; the rest is resolved
  std::optional<Located> name;
  std::optional<uint32_t> retries;
  TimeoutOverrides timeouts;
  HealthCheckDraft healthCheck;
  std::vector<ServerDraft> servers;
  std::string serversPath;  // where `servers:` was written, for "every server is a backup"
  int serversLine = 0;
};

// Where the keys that size the receive buffers were written (0: not written, the default
// applies), for the memory check in Resolve.cc, and whether one of them failed to read (then
// that check is skipped rather than cascade).
struct GlobalDraft {
  Global value;
  int workersLine = 0;
  int buffersLine = 0;
  int bufferSizeLine = 0;
  bool sizingUnread = false;
};

// `metrics:` as read, with where its listen address was written, for the check against the
// frontends' addresses in Resolve.cc.
struct MetricsDraft {
  Metrics value;  // final once read
  std::string listenPath;
  int listenLine = 0;
};

struct DocumentDraft {
  GlobalDraft global;
  Admin admin;  // final once read
  MetricsDraft metrics;
  AccessLog accessLog;  // final once read
  DefaultsDraft defaults;
  std::vector<FrontendDraft> frontends;
  std::vector<BackendDraft> backends;
  // False when `backends` is missing or not a list: then "no backend named X" for every frontend
  // would only repeat that one error, so references are not checked.
  bool backendsListed = false;
};

}  // namespace ringlb::config::detail
