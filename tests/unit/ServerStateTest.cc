// The health state machine (health/ServerState.h): every (admin, phase) x event pair against an
// expected table written here by hand from HAProxy's rules, then the edges the table cannot show
// (rise/fall of 1, a reload lowering fall, the initial states) and the names.
#include "ringlb/health/ServerState.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

using namespace ringlb::health;

namespace {

// Short codes for states, so the expected table stays readable: admin (A)ctive, (D)raining,
// (M)aintenance; health (U)p, (D)own or (N)o checks; then the count. "AU1" is Active, UP, one
// failure counted.
ServerState decode(const std::string& code) {
  ServerState s;
  s.admin = code[0] == 'A' ? AdminState::Active : code[0] == 'D' ? AdminState::Draining
                                                                 : AdminState::Maintenance;
  s.checked = code[1] != 'N';
  s.health = code[1] == 'D' ? Health::Down : Health::Up;
  s.count = static_cast<uint16_t>(code[2] - '0');
  return s;
}

std::string encode(const ServerState& s) {
  std::string out;
  out += s.admin == AdminState::Active ? 'A' : s.admin == AdminState::Draining ? 'D' : 'M';
  out += !s.checked ? 'N' : s.health == Health::Up ? 'U' : 'D';
  out += std::to_string(s.count);
  return out;
}

// Actions as letters: L(og and count), C(lose sessions), R(ecompute eligibility); "-" for none.
std::string encode(Actions a) {
  std::string out;
  if (a.has(Action::LogAndCount)) out += 'L';
  if (a.has(Action::CloseSessions)) out += 'C';
  if (a.has(Action::RecomputeEligibility)) out += 'R';
  return out.empty() ? "-" : out;
}

// rise 3 and fall 3 leave room for a count before the last step (1) and at it (2).
constexpr HealthParams kParams{.rise = 3, .fall = 3, .initial = InitialHealth::Up,
                               .closeOnMarkedDown = true};

const std::vector<std::pair<const char*, Event>> kEvents = {
    {"check ok", Event::checkSucceeded()},
    {"check failed", Event::checkFailed(FailureReason::Timeout)},
    {"passive ok", Event::passiveSuccess()},
    {"passive failure", Event::passiveFailure()},
    {"set active", Event::adminSet(AdminState::Active)},
    {"set draining", Event::adminSet(AdminState::Draining)},
    {"set maintenance", Event::adminSet(AdminState::Maintenance)},
    {"set maintenance+kill", Event::adminSet(AdminState::Maintenance, true)},
    {"checks off", Event::checksDisabled()},
    {"checks on", Event::checksEnabled()},
};

struct Row {
  const char* from;
  std::vector<const char*> to;  // one "STATE ACTIONS" per event, in kEvents' order
};

// Expected results. Reasoning, once: a failure counts toward fall while Up (at 3: DOWN, sessions
// closed, eligibility lost if Active), resets a run of successes while Down; a success counts
// toward rise while Down, ends a run of failures while Up; passive success never raises a Down
// server; Maintenance ignores results and sits at DOWN (checked) or no-check Up; checks on
// starts at InitialHealth::Up = UP with fall-1 = 2 counted.
const std::vector<Row> kExpected = {
    //          check ok   check fail  pass ok    pass fail  ->Active   ->Draining ->Maint    ->Maint+kill off       on
    {"AU0", {"AU0 -",   "AU1 -",   "AU0 -",   "AU1 -",   "AU0 -",   "DU0 LR",  "MD0 LR",  "MD0 LCR", "AN0 L",  "AU0 -"}},
    {"AU1", {"AU0 -",   "AU2 -",   "AU0 -",   "AU2 -",   "AU1 -",   "DU1 LR",  "MD0 LR",  "MD0 LCR", "AN0 L",  "AU1 -"}},
    {"AU2", {"AU0 -",   "AD0 LCR", "AU0 -",   "AD0 LCR", "AU2 -",   "DU2 LR",  "MD0 LR",  "MD0 LCR", "AN0 L",  "AU2 -"}},
    {"AD0", {"AD1 -",   "AD0 -",   "AD0 -",   "AD0 -",   "AD0 -",   "DD0 L",   "MD0 L",   "MD0 LC",  "AN0 LR", "AD0 -"}},
    {"AD1", {"AD2 -",   "AD0 -",   "AD1 -",   "AD0 -",   "AD1 -",   "DD1 L",   "MD0 L",   "MD0 LC",  "AN0 LR", "AD1 -"}},
    {"AD2", {"AU0 LR",  "AD0 -",   "AD2 -",   "AD0 -",   "AD2 -",   "DD2 L",   "MD0 L",   "MD0 LC",  "AN0 LR", "AD2 -"}},
    {"AN0", {"AN0 -",   "AN0 -",   "AN0 -",   "AN0 -",   "AN0 -",   "DN0 LR",  "MN0 LR",  "MN0 LCR", "AN0 -",  "AU2 L"}},
    {"DU0", {"DU0 -",   "DU1 -",   "DU0 -",   "DU1 -",   "AU0 LR",  "DU0 -",   "MD0 L",   "MD0 LC",  "DN0 L",  "DU0 -"}},
    {"DU1", {"DU0 -",   "DU2 -",   "DU0 -",   "DU2 -",   "AU1 LR",  "DU1 -",   "MD0 L",   "MD0 LC",  "DN0 L",  "DU1 -"}},
    {"DU2", {"DU0 -",   "DD0 LC",  "DU0 -",   "DD0 LC",  "AU2 LR",  "DU2 -",   "MD0 L",   "MD0 LC",  "DN0 L",  "DU2 -"}},
    {"DD0", {"DD1 -",   "DD0 -",   "DD0 -",   "DD0 -",   "AD0 L",   "DD0 -",   "MD0 L",   "MD0 LC",  "DN0 L",  "DD0 -"}},
    {"DD1", {"DD2 -",   "DD0 -",   "DD1 -",   "DD0 -",   "AD1 L",   "DD1 -",   "MD0 L",   "MD0 LC",  "DN0 L",  "DD1 -"}},
    {"DD2", {"DU0 L",   "DD0 -",   "DD2 -",   "DD0 -",   "AD2 L",   "DD2 -",   "MD0 L",   "MD0 LC",  "DN0 L",  "DD2 -"}},
    {"DN0", {"DN0 -",   "DN0 -",   "DN0 -",   "DN0 -",   "AN0 LR",  "DN0 -",   "MN0 L",   "MN0 LC",  "DN0 -",  "DU2 L"}},
    {"MD0", {"MD0 -",   "MD0 -",   "MD0 -",   "MD0 -",   "AD0 L",   "DD0 L",   "MD0 -",   "MD0 C",   "MN0 L",  "MD0 -"}},
    {"MN0", {"MN0 -",   "MN0 -",   "MN0 -",   "MN0 -",   "AN0 LR",  "DN0 L",   "MN0 -",   "MN0 C",   "MN0 -",  "MD0 L"}},
};

Transition run(const std::string& from, const Event& e, const HealthParams& p = kParams) {
  return apply(decode(from), e, p);
}

}  // namespace

// Every (admin, phase) x event pair gives the expected state and actions.
TEST(ServerStateTest, EveryPairFollowsTheTable) {
  for (const Row& row : kExpected) {
    ASSERT_EQ(row.to.size(), kEvents.size()) << row.from;
    for (std::size_t i = 0; i < kEvents.size(); ++i) {
      const Transition t = run(row.from, kEvents[i].second);
      EXPECT_EQ(encode(t.state) + " " + encode(t.actions), row.to[i])
          << "from " << row.from << " on " << kEvents[i].first;
    }
  }
}

// The expected table has a row for every (admin, phase) a valid state can be in: Active and
// Draining in each of the five phases, Maintenance in its two canonical ones.
TEST(ServerStateTest, ExpectedTableCoversEveryRow) {
  std::set<std::pair<AdminState, Phase>> rows;
  for (const Row& row : kExpected) rows.insert({decode(row.from).admin, phase(decode(row.from))});
  for (AdminState a : {AdminState::Active, AdminState::Draining}) {
    for (Phase p : {Phase::Up, Phase::GoingDown, Phase::Down, Phase::GoingUp, Phase::Unchecked}) {
      EXPECT_TRUE(rows.count({a, p})) << toString(a) << " " << toString(p);
    }
  }
  EXPECT_TRUE(rows.count({AdminState::Maintenance, Phase::Down}));
  EXPECT_TRUE(rows.count({AdminState::Maintenance, Phase::Unchecked}));
  EXPECT_EQ(rows.size(), 12u);
}

// The reason of a failure is for the log: every reason counts the same toward fall.
TEST(ServerStateTest, EveryFailureReasonCountsAlike) {
  for (FailureReason r : {FailureReason::Refused, FailureReason::Timeout, FailureReason::BadStatus,
                          FailureReason::BadResponse, FailureReason::Error,
                          FailureReason::ConnectFailed}) {
    EXPECT_EQ(encode(run("AU2", Event::checkFailed(r)).state), "AD0") << toString(r);
    EXPECT_EQ(encode(run("AD1", Event::checkFailed(r)).state), "AD0") << toString(r);
  }
}

// Without on-marked-down shutdown, checks marking a server down leave its sessions open.
TEST(ServerStateTest, MarkedDownClosesSessionsOnlyWhenAsked) {
  HealthParams p = kParams;
  p.closeOnMarkedDown = false;
  EXPECT_EQ(encode(run("AU2", Event::checkFailed(FailureReason::Refused), p).actions), "LR");
  EXPECT_EQ(encode(run("AU2", Event::passiveFailure(), p).actions), "LR");
  // Killing on entering maintenance is the operator's request, not on-marked-down's.
  EXPECT_EQ(encode(run("AU0", Event::adminSet(AdminState::Maintenance, true), p).actions), "LCR");
}

// rise 1 / fall 1: a single result flips the health; there is no transitional phase.
TEST(ServerStateTest, RiseAndFallOfOneFlipAtOnce) {
  const HealthParams p{.rise = 1, .fall = 1};
  EXPECT_EQ(encode(run("AU0", Event::checkFailed(FailureReason::Timeout), p).state), "AD0");
  EXPECT_EQ(encode(run("AD0", Event::checkSucceeded(), p).state), "AU0");
  // A 0 is read as 1 rather than never flipping.
  const HealthParams zero{.rise = 0, .fall = 0};
  EXPECT_EQ(encode(run("AU0", Event::checkFailed(FailureReason::Timeout), zero).state), "AD0");
  EXPECT_EQ(encode(run("AD0", Event::checkSucceeded(), zero).state), "AU0");
}

// A reload may lower fall/rise under a count already reached: the next result of that kind flips.
TEST(ServerStateTest, CountPastALoweredThresholdFlipsAtTheNextResult) {
  const HealthParams p{.rise = 2, .fall = 2};
  EXPECT_EQ(encode(run("AU5", Event::checkFailed(FailureReason::Timeout), p).state), "AD0");
  EXPECT_EQ(encode(run("AD5", Event::checkSucceeded(), p).state), "AU0");
}

// initialState follows HAProxy's init-state; without checks a server is simply UP.
TEST(ServerStateTest, InitialStates) {
  HealthParams p{.rise = 2, .fall = 3};
  p.initial = InitialHealth::FullyUp;
  EXPECT_EQ(encode(initialState(p, true)), "AU0");
  p.initial = InitialHealth::Up;
  EXPECT_EQ(encode(initialState(p, true)), "AU2");  // one failure from DOWN
  p.initial = InitialHealth::Down;
  EXPECT_EQ(encode(initialState(p, true)), "AD1");  // one success from UP
  p.initial = InitialHealth::FullyDown;
  EXPECT_EQ(encode(initialState(p, true)), "AD0");
  EXPECT_EQ(encode(initialState(p, false)), "AN0");
  EXPECT_TRUE(eligible(initialState(HealthParams{}, true)));  // HAProxy 2.x: believed up
}

// HAProxy's default life: believed up, a first failure takes it down, rise successes bring it back.
TEST(ServerStateTest, DefaultLifeMatchesHaproxy) {
  const HealthParams p;  // rise 2, fall 3, init up
  ServerState s = initialState(p, true);
  EXPECT_EQ(toString(s, p), "UP 1/3");
  s = apply(s, Event::checkSucceeded(), p).state;
  EXPECT_EQ(toString(s, p), "UP");
  s = apply(s, Event::checkFailed(FailureReason::Timeout), p).state;
  EXPECT_EQ(toString(s, p), "UP 2/3");
  s = apply(s, Event::passiveFailure(), p).state;
  EXPECT_EQ(toString(s, p), "UP 1/3");
  const Transition down = apply(s, Event::checkFailed(FailureReason::Refused), p);
  EXPECT_EQ(toString(down.state, p), "DOWN");
  EXPECT_TRUE(down.actions.has(Action::RecomputeEligibility));
  s = apply(down.state, Event::checkSucceeded(), p).state;
  EXPECT_EQ(toString(s, p), "DOWN 1/2");
  const Transition up = apply(s, Event::checkSucceeded(), p);
  EXPECT_EQ(toString(up.state, p), "UP");
  EXPECT_TRUE(eligible(up.state));
}

// The status column reads like HAProxy's.
TEST(ServerStateTest, StatusText) {
  EXPECT_EQ(toString(decode("AU0"), kParams), "UP");
  EXPECT_EQ(toString(decode("AU1"), kParams), "UP 2/3");
  EXPECT_EQ(toString(decode("AD0"), kParams), "DOWN");
  EXPECT_EQ(toString(decode("AD2"), kParams), "DOWN 2/3");
  EXPECT_EQ(toString(decode("AN0"), kParams), "no check");
  EXPECT_EQ(toString(decode("DU0"), kParams), "DRAIN");
  EXPECT_EQ(toString(decode("DU2"), kParams), "DRAIN 1/3");
  EXPECT_EQ(toString(decode("DD1"), kParams), "DOWN 1/3");
  EXPECT_EQ(toString(decode("DN0"), kParams), "DRAIN");
  EXPECT_EQ(toString(decode("MD0"), kParams), "MAINT");
  EXPECT_EQ(toString(decode("MN0"), kParams), "MAINT");
}

// Only Active and Up is eligible.
TEST(ServerStateTest, Eligibility) {
  for (const Row& row : kExpected) {
    const std::string code = row.from;
    EXPECT_EQ(eligible(decode(code)), code[0] == 'A' && code[1] != 'D') << code;
  }
}

// Every enum value has its own name (logs and the admin socket print them).
TEST(ServerStateTest, EveryEnumHasADistinctName) {
  auto distinct = [](std::vector<std::string> names) {
    for (const std::string& n : names) EXPECT_NE(n, "unknown");
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  };
  distinct({toString(AdminState::Active), toString(AdminState::Draining),
            toString(AdminState::Maintenance)});
  distinct({toString(Health::Up), toString(Health::Down)});
  distinct({toString(InitialHealth::FullyUp), toString(InitialHealth::Up),
            toString(InitialHealth::Down), toString(InitialHealth::FullyDown)});
  distinct({toString(Phase::Up), toString(Phase::GoingDown), toString(Phase::Down),
            toString(Phase::GoingUp), toString(Phase::Unchecked)});
  distinct({toString(EventKind::CheckSucceeded), toString(EventKind::CheckFailed),
            toString(EventKind::PassiveSuccess), toString(EventKind::PassiveFailure),
            toString(EventKind::AdminSet), toString(EventKind::ChecksDisabled),
            toString(EventKind::ChecksEnabled)});
  distinct({toString(Action::LogAndCount), toString(Action::CloseSessions),
            toString(Action::RecomputeEligibility)});
  distinct({toString(FailureReason::Refused), toString(FailureReason::Timeout),
            toString(FailureReason::BadStatus), toString(FailureReason::BadResponse),
            toString(FailureReason::Error), toString(FailureReason::ConnectFailed)});
  EXPECT_EQ(toString(Actions{}), "none");
  EXPECT_EQ(toString(Actions{}.add(Action::LogAndCount).add(Action::RecomputeEligibility)),
            "log|recompute_eligibility");
}
