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
  Frontend value;  // name, maxConnections and line are final; the rest is resolved
  std::optional<Located> name;
  std::optional<Located> backend;
  std::vector<ListenDraft> listen;
  TimeoutOverrides timeouts;
};

struct ServerDraft {
  Server value;  // final once read
  std::optional<Located> name;
};

struct BackendDraft {
  Backend value;  // name, relay, balance, hashKey, line are final; the rest is resolved
  std::optional<Located> name;
  std::optional<uint32_t> retries;
  TimeoutOverrides timeouts;
  std::vector<ServerDraft> servers;
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

struct DocumentDraft {
  GlobalDraft global;
  DefaultsDraft defaults;
  std::vector<FrontendDraft> frontends;
  std::vector<BackendDraft> backends;
  // False when `backends` is missing or not a list: then "no backend named X" for every frontend
  // would only repeat that one error, so references are not checked.
  bool backendsListed = false;
};

}  // namespace ringlb::config::detail
