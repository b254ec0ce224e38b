#pragma once
// The runtime state of every server, apart from any config snapshot: one record per server
// identity (backend name + server name) for the process's life. A record holds what the control
// plane decides (administrative state, health, check history) and the LiveServer that workers
// read (eligibility, connection count). Snapshots point at the records' LiveServers, so a
// server's state and counts survive snapshot rebuilds, and nothing indexes one snapshot with
// another's positions.
//
// Threading: control thread only. Workers see nothing of this but the LiveServer atomics.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringlb/config/Config.h"
#include "ringlb/health/CheckResult.h"
#include "ringlb/health/ServerState.h"
#include "ringlb/lb/Balancer.h"
#include "ringlb/net/Address.h"
#include "ringlb/proxy/Snapshot.h"

namespace ringlb::control {

// The outcome of the last health check of a server, for `show servers` and the logs.
struct CheckReport {
  bool ok = false;
  health::FailureReason reason = health::FailureReason::Error;  // when !ok
  std::string detail;                   // e.g. "status 503", "connection refused"
  std::chrono::milliseconds latency{0};
};

struct ServerRecord {
  std::string backend;
  std::string name;
  net::Address address;
  uint32_t weight = 100;                 // the config's, or set on the admin socket
  // What the configuration file says (weight, state), whatever was set at run time: a reload or
  // an upgrade tells "the file changed it" from "it was changed at run time" by these.
  uint32_t fileWeight = 100;
  health::AdminState fileState = health::AdminState::Active;
  std::chrono::milliseconds slowStart{0};  // servers[].slow_start (resolved)
  // Set while the server ramps up after coming back (slow start): when it came back.
  std::optional<std::chrono::steady_clock::time_point> rampFrom;
  health::ServerState state;
  health::HealthParams params;
  std::shared_ptr<lb::LiveServer> live;  // eligibility mirrors health::eligible(state)
  std::optional<CheckReport> lastCheck;
  uint64_t transitions = 0;              // logged state changes (health or admin)
  uint64_t checkFailures = 0;            // failed health checks (active), total

  std::string id() const { return backend + "/" + name; }
};

class ServerRegistry {
 public:
  // Creates a record for every server of `config` that has none yet (new servers start Active,
  // Up: there are no health checks yet), and updates address and weight of known ones. Records
  // of servers no longer in the config are kept (their sessions may still run).
  void adopt(const config::Config& config);

  // A reload from `running` to `next` (both loaded configs): adopts `next` as adopt() does, but a
  // server that was in `running` keeps its runtime state unless the file changed it:
  //   - weight: the file's if its `weight` line changed, else the current one (which may have
  //     been set on the admin socket);
  //   - admin state: likewise for `state`; a change applies as an admin event (logged, counted);
  //   - health: kept (history, DOWN or UP), except that a changed address starts it over as a
  //     new server's (another machine answers there; the admin state stays), and turning checks
  //     on or off applies the state machine's checks_enabled / checks_disabled;
  //   - rise, fall, initial, on_marked_down and slow_start follow the file.
  // Servers new to the registry start as in adopt(); a server that comes back after a reload
  // that removed it is treated as new to the file (its record's state is reset) but keeps its
  // counters. Returns the transitions made, whose actions the caller carries out.
  struct Reconciled {
    ServerRecord* record = nullptr;
    health::Transition transition;
  };
  std::vector<Reconciled> reconcile(const config::Config& running, const config::Config& next);

  // A binary upgrade: sets a record to the state the previous process had it in (admin state,
  // health, weight), as it was, not as a transition: nothing is logged or counted. Health is
  // taken only when checks are on both sides (`up` false: down).
  void restore(ServerRecord& record, health::AdminState admin, std::optional<bool> up, uint32_t weight);

  // nullptr if unknown.
  ServerRecord* find(std::string_view backend, std::string_view server);
  const ServerRecord* find(std::string_view backend, std::string_view server) const;
  // Records ever created (removed servers' included: identities are never reused).
  std::size_t size() const { return records_.size(); }
  // Every record, in the order of the last adopted config (backend, then server order).
  const std::vector<ServerRecord*>& ordered() const { return ordered_; }

  // Applies an event to a server's state machine: updates its state and its LiveServer's
  // eligibility, logs a real change (with `cause`) and counts it. Returns the transition, whose
  // actions the caller carries out (CloseSessions: tell the workers).
  health::Transition apply(ServerRecord& record, const health::Event& event, std::string_view cause);

  // For proxy::buildSnapshot: each server's LiveServer, from its record (adopt() first).
  proxy::LiveServerSource liveSource();
  // A server's effective weight: its record's weight, ramped while in slow start.
  // The effective weights of `backend`'s servers now, in its config order: a copy a build on
  // another thread may read while this registry moves on.
  std::vector<uint32_t> effectiveWeights(const config::Backend& backend);
  static uint32_t effectiveWeight(const ServerRecord& record);

 private:
  // The record of `backend`/`server`, created (initial state, admin state from the file) if new.
  ServerRecord& recordFor(const config::Backend& backend, const config::Server& server, bool* created);
  // Resets a record's state to a new server's: health from `backend`'s check settings, admin
  // state from the file.
  void startOver(ServerRecord& record, const config::Backend& backend, const config::Server& server);

  std::map<std::string, std::unique_ptr<ServerRecord>, std::less<>> records_;  // by id()
  std::vector<ServerRecord*> ordered_;
};

}  // namespace ringlb::control
