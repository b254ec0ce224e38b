#pragma once
// Plain configuration structs with their defaults. The loader (config/Loader.h) fills them from
// YAML and resolves inheritance from `defaults:`, so consumers read final values and never look
// at `defaults` themselves. Immutable once loaded: a reload builds a new Config.
#include <chrono>
#include <cstdint>
#include <string>
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

struct Server {
  std::string name;
  net::Address address;
  uint32_t weight = 100;        // 0..1000
  uint32_t maxConnections = 0;  // 0 = unlimited
  int line = 0;                 // where it was declared, for messages
};

struct Backend {
  std::string name;
  RelayMode relay = RelayMode::Auto;
  lb::Algorithm balance = lb::Algorithm::Rendezvous;
  lb::HashKey hashKey = lb::HashKey::SourceIp;
  uint32_t retries = 2;         // resolved: backend value, else defaults.retries
  Timeouts timeouts;            // resolved: connect/server/server_fin are the ones used
  std::vector<Server> servers;
  int line = 0;
};

struct Frontend {
  std::string name;
  std::vector<net::Address> listen;
  std::string backend;          // validated to name an existing backend
  std::size_t backendIndex = 0; // index into Config::backends, set by the loader
  uint64_t maxConnections = 0;  // 0 = unlimited (global.max_connections still applies)
  Timeouts timeouts;            // resolved: client/client_fin are the ones used
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
};

struct Config {
  std::string source;  // file it was read from (or "<string>")
  Global global;
  Timeouts defaultTimeouts;
  uint32_t defaultRetries = 2;
  std::vector<Frontend> frontends;
  std::vector<Backend> backends;
};

}  // namespace ringlb::config
