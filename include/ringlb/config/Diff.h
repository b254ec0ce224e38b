#pragma once
// What a reload (SIGHUP) changes: the running Config compared with a newly loaded one. Reload
// applies the new configuration as a diff inside the running process, so it needs to know which
// frontends, backends and servers were added, removed or changed, and which keys cannot change
// without a restart (the worker count, the buffer pool, the listening sockets of the admin and
// metrics endpoints, the access log file). The same result feeds the log and `ringlb ctl reload`
// through describe().
//
// Pure: no I/O, no clock, no state. Only configuration is compared: never Config::source and never
// a `line` (declaration lines move whenever the file is edited), nor what the loader derives from
// other keys (Frontend::backendIndex). Values are compared as resolved by the loader, so a change
// under `defaults:` shows as a change of every frontend or backend that inherits it.
#include <cstdint>
#include <string>
#include <vector>

#include "ringlb/config/Config.h"

namespace ringlb::config {

enum class ChangeKind : uint8_t { Added, Removed, Changed };

struct Change {
  ChangeKind kind;
  std::string what;  // "frontend", "backend" or "server"
  // Identity: a frontend or backend by its name; a server by "backend/server", so a server that
  // moves to another backend is one removed and one added.
  std::string name;
  // Changed only: the keys that differ, in YAML spelling and in the schema's key order, e.g.
  // {"weight"}, {"address", "max_connections"}, {"balance", "health_check"}. Empty for
  // Added/Removed. A backend's "servers" means the kept servers' order changed (it decides
  // `balance: first`); a server's own changes are server Changes, never a backend field.
  std::vector<std::string> fields;
};

struct ConfigDiff {
  // Frontends first, then backends, then servers. Within each group: the new config's order for
  // kept and added ones, then removed ones in the running config's order. Servers are listed only
  // for backends present in both configs: an added or removed backend carries its servers.
  std::vector<Change> changes;
  // Keys whose new value cannot apply to a running process, in YAML spelling: "global.workers",
  // "global.buffers", "global.buffer_size", "admin.socket", "admin.mode", "metrics.listen",
  // "metrics.compat", "access_log.path". The reload keeps their running values
  // (keepRestartOnly).
  std::vector<std::string> restartRequired;
  // restartRunning[i] is the running value of restartRequired[i] as YAML would write it ("auto",
  // "0600", "none" for an unset optional key); same size as restartRequired.
  std::vector<std::string> restartRunning;
  // Global-level keys that changed and apply live: "global.max_connections",
  // "global.shutdown_grace", "global.hash_seed", "access_log.format". `defaults:` is not listed:
  // it resolves into frontends and backends, whose changes are in `changes`.
  std::vector<std::string> globalChanged;

  bool empty() const;  // nothing at all differs
  // One line per difference, for the log and `ringlb ctl reload`, in the order above (changes,
  // then globalChanged, then restartRequired):
  //   "frontend 'api' added" / "frontend 'api' removed"
  //   "backend 'web' changed: balance, health_check"
  //   "backend 'web': server 'web/s3' added" / "backend 'web': server 'web/s3' removed"
  //   "server 'web/s1' changed: weight"
  //   "global.hash_seed changed"
  //   "global.workers changed: needs a restart (still 2)"
  // and the single line "no changes" when empty().
  std::vector<std::string> describe() const;
};

// What differs between `running` and `next`. Both must be loaded, validated configs (names unique
// per level, as the loader guarantees).
ConfigDiff diff(const Config& running, const Config& next);

// Sets every key of `next` that cannot change in a running process (the keys listed in
// ConfigDiff::restartRequired) back to `running`'s value, so that what is applied is exactly the
// old value for those and the new value for everything else. Afterwards diff(running, next) has
// an empty restartRequired and the same changes and globalChanged as before.
void keepRestartOnly(const Config& running, Config& next);

}  // namespace ringlb::config
