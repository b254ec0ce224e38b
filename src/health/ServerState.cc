#include "ringlb/health/ServerState.h"

#include <algorithm>
#include <array>

namespace ringlb::health {
namespace {

// The rules of the table in ServerState.h, spelled as there.
enum class Rule : uint8_t { Stay, Fail, Rise, Reset, Admin, Enter, EnterKill, Kill, Leave, Uncheck, Check };

// Columns: the events, with AdminSet split by target (and kill, for Maintenance).
enum Column : uint8_t {
  kCheckOk, kCheckFailed, kPassiveOk, kPassiveFailure, kSetActive, kSetDraining, kSetMaint,
  kSetMaintKill, kChecksOff, kChecksOn, kColumns
};
// Rows: (admin, phase); Maintenance has only its two canonical phases.
enum Row : uint8_t {
  kActiveUp, kActiveGoingDown, kActiveDown, kActiveGoingUp, kActiveUnchecked,
  kDrainingUp, kDrainingGoingDown, kDrainingDown, kDrainingGoingUp, kDrainingUnchecked,
  kMaintChecked, kMaintUnchecked, kRows
};

constexpr Rule S = Rule::Stay, F = Rule::Fail, R = Rule::Rise, Z = Rule::Reset, A = Rule::Admin,
               E = Rule::Enter, EK = Rule::EnterKill, K = Rule::Kill, L = Rule::Leave,
               U = Rule::Uncheck, C = Rule::Check;

// THE table (documented in ServerState.h). Columns: check ok, check failed, passive ok, passive
// failure, set Active, set Draining, set Maintenance, set Maintenance + kill, checks off, on.
constexpr std::array<std::array<Rule, kColumns>, kRows> kTable{{
    /* Active   UP       */ {S, F, S, F, S, A, E, EK, U, S},
    /* Active   UP n/f   */ {Z, F, Z, F, S, A, E, EK, U, S},
    /* Active   DOWN     */ {R, S, S, S, S, A, E, EK, U, S},
    /* Active   DOWN n/r */ {R, Z, S, Z, S, A, E, EK, U, S},
    /* Active   NOCHK    */ {S, S, S, S, S, A, E, EK, S, C},
    /* Draining UP       */ {S, F, S, F, A, S, E, EK, U, S},
    /* Draining UP n/f   */ {Z, F, Z, F, A, S, E, EK, U, S},
    /* Draining DOWN     */ {R, S, S, S, A, S, E, EK, U, S},
    /* Draining DOWN n/r */ {R, Z, S, Z, A, S, E, EK, U, S},
    /* Draining NOCHK    */ {S, S, S, S, A, S, E, EK, S, C},
    /* Maint    DOWN     */ {S, S, S, S, L, L, S, K, U, S},
    /* Maint    NOCHK    */ {S, S, S, S, L, L, S, K, S, C},
}};

Row rowOf(const ServerState& s) {
  if (s.admin == AdminState::Maintenance) return s.checked ? kMaintChecked : kMaintUnchecked;
  const int base = s.admin == AdminState::Active ? kActiveUp : kDrainingUp;
  return static_cast<Row>(base + static_cast<int>(phase(s)));
}

Column columnOf(const Event& e) {
  switch (e.kind) {
    case EventKind::CheckSucceeded: return kCheckOk;
    case EventKind::CheckFailed: return kCheckFailed;
    case EventKind::PassiveSuccess: return kPassiveOk;
    case EventKind::PassiveFailure: return kPassiveFailure;
    case EventKind::AdminSet:
      switch (e.admin) {
        case AdminState::Active: return kSetActive;
        case AdminState::Draining: return kSetDraining;
        case AdminState::Maintenance: return e.killSessions ? kSetMaintKill : kSetMaint;
      }
      break;
    case EventKind::ChecksDisabled: return kChecksOff;
    case EventKind::ChecksEnabled: return kChecksOn;
  }
  return kCheckFailed;  // unreachable for a valid enum; a failure is the safe reading
}

uint16_t atLeastOne(uint16_t v) { return std::max<uint16_t>(v, 1); }

// Health and count of a server whose checks are (re)enabled outside Maintenance.
void setInitialHealth(ServerState& s, const HealthParams& p) {
  switch (p.initial) {
    case InitialHealth::FullyUp: s.health = Health::Up; s.count = 0; return;
    case InitialHealth::Up: s.health = Health::Up; s.count = atLeastOne(p.fall) - 1; return;
    case InitialHealth::Down: s.health = Health::Down; s.count = atLeastOne(p.rise) - 1; return;
    case InitialHealth::FullyDown: s.health = Health::Down; s.count = 0; return;
  }
}

// Maintenance keeps the health leaving it starts from: DOWN when checked, Up when not.
void setMaintenanceHealth(ServerState& s) {
  s.health = s.checked ? Health::Down : Health::Up;
  s.count = 0;
}

}  // namespace

Phase phase(const ServerState& s) {
  if (!s.checked) return Phase::Unchecked;
  if (s.health == Health::Up) return s.count == 0 ? Phase::Up : Phase::GoingDown;
  return s.count == 0 ? Phase::Down : Phase::GoingUp;
}

ServerState initialState(const HealthParams& params, bool checked) {
  ServerState s;
  s.checked = checked;
  if (checked) setInitialHealth(s, params);
  return s;
}

Transition apply(const ServerState& s, const Event& e, const HealthParams& params) {
  ServerState n = s;
  bool close = false;
  switch (kTable[rowOf(s)][columnOf(e)]) {
    case Rule::Stay:
      break;
    case Rule::Fail:
      if (++n.count >= atLeastOne(params.fall)) {
        n.health = Health::Down;
        n.count = 0;
        close = params.closeOnMarkedDown;
      }
      break;
    case Rule::Rise:
      if (++n.count >= atLeastOne(params.rise)) {
        n.health = Health::Up;
        n.count = 0;
      }
      break;
    case Rule::Reset:
      n.count = 0;
      break;
    case Rule::Admin:
      n.admin = e.admin;
      break;
    case Rule::EnterKill:
      close = true;
      [[fallthrough]];
    case Rule::Enter:
      n.admin = AdminState::Maintenance;
      setMaintenanceHealth(n);
      break;
    case Rule::Kill:
      close = true;
      break;
    case Rule::Leave:
      n.admin = e.admin;
      setMaintenanceHealth(n);  // the same starting point: DOWN if checked, else Up
      break;
    case Rule::Uncheck:
      n.checked = false;
      n.health = Health::Up;
      n.count = 0;
      break;
    case Rule::Check:
      n.checked = true;
      if (n.admin == AdminState::Maintenance) {
        setMaintenanceHealth(n);
      } else {
        setInitialHealth(n, params);
      }
      break;
  }

  Transition t{n, {}};
  if (n.admin != s.admin || n.health != s.health || n.checked != s.checked) {
    t.actions.add(Action::LogAndCount);
  }
  if (eligible(n) != eligible(s)) t.actions.add(Action::RecomputeEligibility);
  if (close) t.actions.add(Action::CloseSessions);
  return t;
}

const char* toString(AdminState a) {
  switch (a) {
    case AdminState::Active: return "active";
    case AdminState::Draining: return "draining";
    case AdminState::Maintenance: return "maintenance";
  }
  return "unknown";
}

const char* toString(Health h) {
  switch (h) {
    case Health::Up: return "UP";
    case Health::Down: return "DOWN";
  }
  return "unknown";
}

const char* toString(InitialHealth i) {
  switch (i) {
    case InitialHealth::FullyUp: return "fully_up";
    case InitialHealth::Up: return "up";
    case InitialHealth::Down: return "down";
    case InitialHealth::FullyDown: return "fully_down";
  }
  return "unknown";
}

const char* toString(Phase p) {
  switch (p) {
    case Phase::Up: return "up";
    case Phase::GoingDown: return "going_down";
    case Phase::Down: return "down";
    case Phase::GoingUp: return "going_up";
    case Phase::Unchecked: return "unchecked";
  }
  return "unknown";
}

const char* toString(EventKind k) {
  switch (k) {
    case EventKind::CheckSucceeded: return "check_succeeded";
    case EventKind::CheckFailed: return "check_failed";
    case EventKind::PassiveSuccess: return "passive_success";
    case EventKind::PassiveFailure: return "passive_failure";
    case EventKind::AdminSet: return "admin_set";
    case EventKind::ChecksDisabled: return "checks_disabled";
    case EventKind::ChecksEnabled: return "checks_enabled";
  }
  return "unknown";
}

const char* toString(Action a) {
  switch (a) {
    case Action::LogAndCount: return "log";
    case Action::CloseSessions: return "close_sessions";
    case Action::RecomputeEligibility: return "recompute_eligibility";
  }
  return "unknown";
}

std::string toString(Actions a) {
  if (a.empty()) return "none";
  std::string out;
  for (Action each : {Action::LogAndCount, Action::CloseSessions, Action::RecomputeEligibility}) {
    if (!a.has(each)) continue;
    if (!out.empty()) out += '|';
    out += toString(each);
  }
  return out;
}

std::string toString(const ServerState& s, const HealthParams& params) {
  if (s.admin == AdminState::Maintenance) return "MAINT";
  const bool draining = s.admin == AdminState::Draining;
  if (!s.checked) return draining ? "DRAIN" : "no check";
  std::string out = s.health == Health::Down ? "DOWN" : draining ? "DRAIN" : "UP";
  if (s.count == 0) return out;
  // HAProxy's numbers: going down shows the checks left before DOWN out of fall (so "UP 1/3" is
  // one failure away), going up the successes so far out of rise.
  const int fall = atLeastOne(params.fall), rise = atLeastOne(params.rise);
  if (s.health == Health::Up) {
    out += ' ' + std::to_string(std::max(1, fall - s.count)) + '/' + std::to_string(fall);
  } else {
    out += ' ' + std::to_string(std::min<int>(s.count, rise - 1)) + '/' + std::to_string(rise);
  }
  return out;
}

}  // namespace ringlb::health
