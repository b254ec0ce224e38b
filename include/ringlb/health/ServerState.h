#pragma once
// A backend server's state as health checking and the operator see it, and the one pure function
// that changes it. No sockets, no clocks, no threads: the control loop that owns a server's state
// feeds events in (check results, workers' connect outcomes, admin commands) and carries out the
// returned actions (log, close sessions, republish eligibility to the balancers).
//
// Model (HAProxy's rise/fall). A server is (admin state, health, checks on/off, count):
//   - admin: Active (takes new connections if Up), Draining (no new connections; open ones
//     continue; checks go on), Maintenance (no new connections, check results ignored);
//   - health: Up or Down; `count` is the run of consecutive results against the current health:
//     failures while Up (at `fall` it goes Down), successes while Down (at `rise` it goes Up). A
//     server with count > 0 is "going down" (UP n/fall) or "going up" (DOWN n/rise): HAProxy's
//     transitional states, checked at fast_interval (Interval.h);
//   - checks off (`checked == false`, HAProxy's check type none or "disable health"): the
//     server is Up by definition and check results are ignored.
// Eligible for new connections iff admin == Active && health == Up (eligible()). Backup servers
// are the pick layer's business, not this one's.
//
// Not modelled: GLB's `Filling` (a new server taking only new clients). Every ringlb connection
// is new to its server: there is no per-flow state a server could fill, so Filling would mean the
// same thing as Active. It belongs to a future consistent-hashing-with-connection-tracking layer,
// which would also be where its semantics can be stated.
//
// THE TRANSITION TABLE. One row per (admin, phase), one column per event; the cell names a rule
// (below). It lives in ServerState.cc as kTable, and nowhere else decides a transition.
// Phases: UP (count 0), UP n/f (going down: 0 < count < fall), DOWN (count 0), DOWN n/r (going
// up: 0 < count < rise), NOCHK (checks off: Up). In Maintenance the health is kept canonical
// (DOWN when checked, NOCHK when not: what leaving Maintenance starts from), so two rows.
//
//                  | check  | check  | passive| passive| set     | set      | set   | set maint | checks | checks
//  admin  phase    | ok     | failed | ok     | failure| Active  | Draining | Maint | +kill     | off    | on
//  -------+--------+--------+--------+--------+--------+---------+----------+-------+-----------+--------+-------
//  Active  UP      | -      | Fail   | -      | Fail   | -       | Admin    | Enter | EnterKill | Uncheck| -
//  Active  UP n/f  | Reset  | Fail   | Reset  | Fail   | -       | Admin    | Enter | EnterKill | Uncheck| -
//  Active  DOWN    | Rise   | -      | -      | -      | -       | Admin    | Enter | EnterKill | Uncheck| -
//  Active  DOWN n/r| Rise   | Reset  | -      | Reset  | -       | Admin    | Enter | EnterKill | Uncheck| -
//  Active  NOCHK   | -      | -      | -      | -      | -       | Admin    | Enter | EnterKill | -      | Check
//  Draining (each phase): as Active, except `set Active` is Admin and `set Draining` is -
//  Maint   DOWN    | -      | -      | -      | -      | Leave   | Leave    | -     | Kill      | Uncheck| -
//  Maint   NOCHK   | -      | -      | -      | -      | Leave   | Leave    | -     | Kill      | -      | Check
//
// Rules (the new state):
//   -         nothing changes.
//   Fail      count + 1; reaching `fall`: health Down, count 0 ("marked down").
//   Rise      count + 1; reaching `rise`: health Up, count 0 ("marked up").
//   Reset     count 0: a success while going down is fully UP again, a failure while going up
//             is fully DOWN again (HAProxy: the runs must be consecutive).
//   Admin     admin := the event's target (Active <-> Draining); health and count kept.
//   Enter     admin := Maintenance; health := checked ? DOWN : Up, count 0.
//   EnterKill Enter, and the server's open sessions are closed.
//   Kill      (already in Maintenance) the server's open sessions are closed; nothing else.
//   Leave     admin := the event's target; health := checked ? DOWN : Up, count 0 (HAProxy:
//             a server leaving maintenance is checked again and needs `rise` successes).
//   Uncheck   checks off: health Up, count 0.
//   Check     checks on: health and count from HealthParams::initial (HAProxy's init-state);
//             in Maintenance DOWN (see Leave).
//
// Actions follow from the change, the same way for every cell (so no cell can forget one):
//   LogAndCount           admin, health or checks on/off changed (count-only changes do not);
//   RecomputeEligibility  eligible() changed;
//   CloseSessions         Fail marked the server down and HealthParams::closeOnMarkedDown is set
//                         (HAProxy's on-marked-down shutdown-sessions), or EnterKill / Kill.
#include <cstdint>
#include <string>

#include "ringlb/health/CheckResult.h"

namespace ringlb::health {

enum class AdminState : uint8_t { Active, Draining, Maintenance };
enum class Health : uint8_t { Up, Down };

// Where a server starts when checks are (re)enabled: HAProxy 3.1's init-state. HAProxy 2.x
// always used `Up`: believed up, but the first failed check takes it down.
enum class InitialHealth : uint8_t {
  FullyUp,    // UP; takes `fall` failures to go down
  Up,         // UP with count fall-1, shown "UP 1/fall": one failure takes it down
  Down,       // DOWN (rise-1)/rise: one success takes it up
  FullyDown,  // DOWN; takes `rise` successes to go up
};

// The health-checking parameters of one server, copied in from the configuration by the wiring.
// rise and fall are at least 1 (a 0 is treated as 1).
struct HealthParams {
  uint16_t rise = 2;  // HAProxy's defaults: rise 2, fall 3
  uint16_t fall = 3;
  InitialHealth initial = InitialHealth::Up;
  bool closeOnMarkedDown = false;  // close the server's sessions when checks mark it down
};

struct ServerState {
  AdminState admin = AdminState::Active;
  Health health = Health::Up;
  bool checked = true;  // health checks run; false: Up by definition, results ignored
  // Consecutive results against `health`: failures while Up (< fall), successes while Down
  // (< rise). Robust to a reload lowering rise/fall: a count at or past the new threshold flips
  // at the next result of that kind.
  uint16_t count = 0;

  bool operator==(const ServerState&) const = default;
};

// The (health, count, checked) part of a state: a table row together with the admin state.
enum class Phase : uint8_t {
  Up,         // Up, count 0
  GoingDown,  // Up, count > 0
  Down,       // Down, count 0
  GoingUp,    // Down, count > 0
  Unchecked,  // checks off
};
Phase phase(const ServerState& s);

// The state of a server when it is created: Active, health per `params.initial` if checked,
// Up if not.
ServerState initialState(const HealthParams& params, bool checked);

// What balancers read: may this server be given new connections?
constexpr bool eligible(const ServerState& s) {
  return s.admin == AdminState::Active && s.health == Health::Up;
}

enum class EventKind : uint8_t {
  CheckSucceeded,
  CheckFailed,     // with a FailureReason
  PassiveSuccess,  // a worker connected to the server: ends a run of failures
  PassiveFailure,  // a worker's connect failed: counts toward `fall` like a failed check
  AdminSet,        // the operator set the admin state (with kill: close its sessions too)
  ChecksDisabled,  // check type none, or the admin socket's "disable health"
  ChecksEnabled,   // the admin socket's "enable health"
};

struct Event {
  EventKind kind = EventKind::CheckSucceeded;
  FailureReason reason = FailureReason::Error;  // CheckFailed, PassiveFailure: for the log only
  AdminState admin = AdminState::Active;        // AdminSet: the target
  bool killSessions = false;                    // AdminSet(Maintenance): close open sessions

  static constexpr Event checkSucceeded() { return {EventKind::CheckSucceeded}; }
  static constexpr Event checkFailed(FailureReason r) { return {EventKind::CheckFailed, r}; }
  static constexpr Event passiveSuccess() { return {EventKind::PassiveSuccess}; }
  static constexpr Event passiveFailure() {
    return {EventKind::PassiveFailure, FailureReason::ConnectFailed};
  }
  // killSessions matters only with Maintenance (draining keeps open sessions by definition).
  static constexpr Event adminSet(AdminState target, bool kill = false) {
    return {EventKind::AdminSet, FailureReason::Error, target, kill};
  }
  static constexpr Event checksDisabled() { return {EventKind::ChecksDisabled}; }
  static constexpr Event checksEnabled() { return {EventKind::ChecksEnabled}; }
};

enum class Action : uint8_t {
  LogAndCount = 1,           // a real change: log one line, bump the server's change counter
  CloseSessions = 2,         // close the server's open sessions (every worker)
  RecomputeEligibility = 4,  // eligible() changed: republish the backend's server set
};

// A set of actions; empty means "nothing to do" (a result that only moved the count).
class Actions {
 public:
  constexpr Actions() = default;
  constexpr bool empty() const { return bits_ == 0; }
  constexpr bool has(Action a) const { return (bits_ & static_cast<uint8_t>(a)) != 0; }
  constexpr Actions& add(Action a) {
    bits_ |= static_cast<uint8_t>(a);
    return *this;
  }
  constexpr bool operator==(const Actions&) const = default;

 private:
  uint8_t bits_ = 0;
};

struct Transition {
  ServerState state;
  Actions actions;
};

// THE transition function: the table above. Pure and total: every (state, event) has a result.
Transition apply(const ServerState& s, const Event& e, const HealthParams& params);

// Names for logs and the admin socket. Lower-case identifiers for values an operator types or
// greps; HAProxy's spellings for the health column.
const char* toString(AdminState a);     // "active", "draining", "maintenance"
const char* toString(Health h);         // "UP", "DOWN"
const char* toString(InitialHealth i);  // "fully_up", "up", "down", "fully_down"
const char* toString(Phase p);          // "up", "going_down", "down", "going_up", "unchecked"
const char* toString(EventKind k);      // "check_succeeded", ..., "checks_enabled"
const char* toString(Action a);         // "log", "close_sessions", "recompute_eligibility"
std::string toString(Actions a);        // "none", or the actions joined by '|'
// HAProxy's status column ("show servers state", stats page): "UP", "DOWN", "UP 2/3" (going
// down: checks left before DOWN / fall, as HAProxy counts), "DOWN 1/2" (going up: successes /
// rise), "no check", "MAINT"; a draining server that is up reads "DRAIN" (or "DRAIN 2/3").
std::string toString(const ServerState& s, const HealthParams& params);

}  // namespace ringlb::health
