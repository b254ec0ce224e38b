// The registry of server records: one per backend/server for the process's life, starting in the
// configured admin state and health, surviving re-adoption, and the source of every snapshot's
// LiveServers (so no snapshot position is ever read against another snapshot).
#include "ringlb/control/ServerRegistry.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringlb/config/Loader.h"
#include "ConfigFixture.h"
#include "ringlb/health/ServerState.h"
#include "ringlb/proxy/Snapshot.h"

namespace ringlb::control {
namespace {

using config::loadShared;

// One backend `app` with the given server lines (YAML flow maps) and extra backend keys.
std::string appConfig(std::string_view servers, std::string_view backendKeys = "") {
  std::string out = "frontends:\n  - { name: web, listen: \"127.0.0.1:8080\", backend: app }\n"
                    "backends:\n  - name: app\n";
  if (!backendKeys.empty()) out += "    " + std::string(backendKeys) + "\n";
  out += "    servers:\n";
  out += servers;
  return out;
}

constexpr std::string_view kThree =
    "      - { name: s1, address: \"10.0.0.1:80\" }\n"
    "      - { name: s2, address: \"10.0.0.2:80\" }\n"
    "      - { name: s3, address: \"10.0.0.3:80\" }\n";

std::vector<std::string> ids(const ServerRegistry& registry) {
  std::vector<std::string> out;
  for (const ServerRecord* r : registry.ordered()) out.push_back(r->id());
  return out;
}

const health::Event kFail = health::Event::checkFailed(health::FailureReason::Timeout);
const health::Event kOk = health::Event::checkSucceeded();

// ---- adopt --------------------------------------------------------------------------------------

TEST(ServerRegistryTest, AdoptCreatesOneRecordPerServerInConfigOrder) {
  const auto config = loadShared(R"(frontends:
  - { name: web, listen: "127.0.0.1:8080", backend: web }
backends:
  - name: web
    servers:
      - { name: b, address: "10.0.0.2:80", weight: 20 }
      - { name: a, address: "10.0.0.1:80" }
  - name: api
    servers:
      - { name: a, address: "10.0.1.1:8080" }
)");
  ServerRegistry registry;
  registry.adopt(*config);
  // Config order, not name order; the same server name in two backends is two records.
  EXPECT_EQ(ids(registry), (std::vector<std::string>{"web/b", "web/a", "api/a"}));
  ServerRecord* wb = registry.find("web", "b");
  ASSERT_NE(wb, nullptr);
  EXPECT_EQ(wb, registry.ordered()[0]);
  EXPECT_EQ(wb->backend, "web");
  EXPECT_EQ(wb->name, "b");
  EXPECT_EQ(wb->address.toString(), "10.0.0.2:80");
  EXPECT_EQ(wb->weight, 20u);
  EXPECT_EQ(wb->transitions, 0u);
  EXPECT_FALSE(wb->lastCheck.has_value());
  ASSERT_NE(wb->live, nullptr);
  EXPECT_NE(registry.find("web", "a"), registry.find("api", "a"));
  EXPECT_NE(registry.find("web", "a")->live, registry.find("api", "a")->live);
  EXPECT_EQ(registry.find("web", "c"), nullptr);
  EXPECT_EQ(registry.find("nope", "a"), nullptr);
}

TEST(ServerRegistryTest, RecordsSurviveReadoptionWithTheirRuntimeState) {
  ServerRegistry registry;
  registry.adopt(*loadShared(appConfig(kThree)));
  ServerRecord* s2 = registry.find("app", "s2");
  ASSERT_NE(s2, nullptr);
  const std::shared_ptr<lb::LiveServer> live = s2->live;
  registry.apply(*s2, health::Event::adminSet(health::AdminState::Draining), "test");
  s2->live->active.store(5);
  ASSERT_FALSE(live->eligible.load());

  // The same servers again (a reload): same record, same LiveServer, state and counts kept.
  registry.adopt(*loadShared(appConfig(kThree)));
  EXPECT_EQ(registry.find("app", "s2"), s2);
  EXPECT_EQ(s2->live, live);
  EXPECT_EQ(s2->state.admin, health::AdminState::Draining);
  EXPECT_FALSE(live->eligible.load());
  EXPECT_EQ(live->active.load(), 5u);
  EXPECT_EQ(s2->transitions, 1u);
  EXPECT_EQ(ids(registry), (std::vector<std::string>{"app/s1", "app/s2", "app/s3"}));
}

TEST(ServerRegistryTest, AddingAServerKeepsTheOldRecordsAndUpdatesAddressAndWeight) {
  ServerRegistry registry;
  registry.adopt(*loadShared(appConfig(kThree)));
  std::vector<ServerRecord*> before = registry.ordered();
  std::vector<std::shared_ptr<lb::LiveServer>> liveBefore;
  for (ServerRecord* r : before) liveBefore.push_back(r->live);

  registry.adopt(*loadShared(appConfig(
      "      - { name: s4, address: \"10.0.0.4:80\" }\n"
      "      - { name: s1, address: \"10.0.0.1:80\" }\n"
      "      - { name: s2, address: \"10.0.0.22:8080\", weight: 300 }\n"
      "      - { name: s3, address: \"10.0.0.3:80\" }\n")));
  EXPECT_EQ(ids(registry), (std::vector<std::string>{"app/s4", "app/s1", "app/s2", "app/s3"}));
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(registry.ordered()[i + 1], before[i]) << i;
    EXPECT_EQ(registry.ordered()[i + 1]->live, liveBefore[i]) << i;
  }
  ServerRecord* s4 = registry.ordered()[0];
  for (const auto& live : liveBefore) EXPECT_NE(s4->live, live);
  EXPECT_EQ(before[1]->address.toString(), "10.0.0.22:8080");
  EXPECT_EQ(before[1]->weight, 300u);
}

TEST(ServerRegistryTest, RemovedServerKeepsItsRecordButLeavesTheOrder) {
  ServerRegistry registry;
  registry.adopt(*loadShared(appConfig(kThree)));
  ServerRecord* s2 = registry.find("app", "s2");
  registry.adopt(*loadShared(appConfig("      - { name: s1, address: \"10.0.0.1:80\" }\n"
                                 "      - { name: s3, address: \"10.0.0.3:80\" }\n")));
  EXPECT_EQ(ids(registry), (std::vector<std::string>{"app/s1", "app/s3"}));
  EXPECT_EQ(registry.find("app", "s2"), s2);  // its sessions may still run
}

// ---- initial state ------------------------------------------------------------------------------

TEST(ServerRegistryTest, ConfiguredAdminStatesStartInThatStateAndNotEligible) {
  ServerRegistry registry;
  registry.adopt(*loadShared(appConfig("      - { name: a, address: \"10.0.0.1:80\", state: active }\n"
                                 "      - { name: d, address: \"10.0.0.2:80\", state: draining }\n"
                                 "      - { name: m, address: \"10.0.0.3:80\", state: maintenance }\n")));
  const ServerRecord* a = registry.find("app", "a");
  const ServerRecord* d = registry.find("app", "d");
  const ServerRecord* m = registry.find("app", "m");
  ASSERT_TRUE(a && d && m);
  EXPECT_EQ(a->state.admin, health::AdminState::Active);
  EXPECT_TRUE(a->live->eligible.load());
  EXPECT_EQ(d->state.admin, health::AdminState::Draining);
  EXPECT_FALSE(d->live->eligible.load());
  EXPECT_EQ(m->state.admin, health::AdminState::Maintenance);
  EXPECT_FALSE(m->live->eligible.load());
  // Starting in a state is not a change: nothing logged or counted.
  EXPECT_EQ(d->transitions, 0u);
  EXPECT_EQ(m->transitions, 0u);
}

TEST(ServerRegistryTest, WithoutChecksAServerStartsUpAndEligible) {
  ServerRegistry registry;
  registry.adopt(*loadShared(appConfig(kThree)));
  const ServerRecord* s1 = registry.find("app", "s1");
  EXPECT_FALSE(s1->state.checked);
  EXPECT_EQ(s1->state.health, health::Health::Up);
  EXPECT_TRUE(s1->live->eligible.load());
}

TEST(ServerRegistryTest, WithChecksAServerStartsDownByDefault) {
  ServerRegistry registry;
  registry.adopt(*loadShared(appConfig(kThree, "health_check: { type: tcp }")));
  for (const ServerRecord* r : registry.ordered()) {
    EXPECT_TRUE(r->state.checked) << r->id();
    EXPECT_EQ(r->state.health, health::Health::Down) << r->id();
    EXPECT_FALSE(r->live->eligible.load()) << r->id();
    EXPECT_EQ(r->params.initial, health::InitialHealth::Down);
  }
  // Down, but one success from UP (HAProxy 3.1's init-state down).
  ServerRecord* s1 = registry.find("app", "s1");
  registry.apply(*s1, kOk, "test");
  EXPECT_TRUE(s1->live->eligible.load());
}

TEST(ServerRegistryTest, WithChecksAndInitialUpAServerStartsEligible) {
  ServerRegistry registry;
  registry.adopt(*loadShared(appConfig(kThree, "health_check: { type: tcp, initial: up }")));
  for (const ServerRecord* r : registry.ordered()) {
    EXPECT_TRUE(r->state.checked) << r->id();
    EXPECT_EQ(r->state.health, health::Health::Up) << r->id();
    EXPECT_TRUE(r->live->eligible.load()) << r->id();
  }
  // Believed up, but the first failure takes it down.
  ServerRecord* s1 = registry.find("app", "s1");
  registry.apply(*s1, kFail, "test");
  EXPECT_FALSE(s1->live->eligible.load());
}

TEST(ServerRegistryTest, ConfiguredMaintenanceWithChecksIsNotEligible) {
  ServerRegistry registry;
  registry.adopt(*loadShared(appConfig(
      "      - { name: m, address: \"10.0.0.1:80\", state: maintenance }\n",
      "health_check: { type: tcp, initial: up }")));
  const ServerRecord* m = registry.find("app", "m");
  EXPECT_EQ(m->state.admin, health::AdminState::Maintenance);
  EXPECT_FALSE(m->live->eligible.load());
}

TEST(ServerRegistryTest, ParamsComeFromTheBackend) {
  ServerRegistry registry;
  registry.adopt(*loadShared(appConfig(kThree,
                                 "health_check: { type: tcp, rise: 4, fall: 5 }\n"
                                 "    on_marked_down: shutdown")));
  const ServerRecord* s1 = registry.find("app", "s1");
  EXPECT_EQ(s1->params.rise, 4u);
  EXPECT_EQ(s1->params.fall, 5u);
  EXPECT_TRUE(s1->params.closeOnMarkedDown);
}

// ---- liveSource and snapshots -------------------------------------------------------------------

TEST(ServerRegistryTest, LiveSourceReturnsEachRecordsLiveServer) {
  const auto config = loadShared(appConfig(kThree));
  ServerRegistry registry;
  registry.adopt(*config);
  const proxy::LiveServerSource source = registry.liveSource();
  const config::Backend& backend = config->backends[0];
  for (const config::Server& server : backend.servers) {
    EXPECT_EQ(source(backend, server), registry.find("app", server.name)->live) << server.name;
  }
}

// No position crosses snapshots: whatever a server's position in a snapshot, its entry is the
// registry record's LiveServer, so the same server in two snapshots is the same record.
TEST(ServerRegistryTest, SnapshotsMapEachServerToItsRecordWhateverItsPosition) {
  const auto first = loadShared(appConfig(kThree));
  const auto second = loadShared(appConfig("      - { name: s3, address: \"10.0.0.3:80\" }\n"
                                     "      - { name: s4, address: \"10.0.0.4:80\" }\n"
                                     "      - { name: s1, address: \"10.0.0.1:80\" }\n"
                                     "      - { name: s2, address: \"10.0.0.2:80\" }\n"));
  ServerRegistry registry;
  registry.adopt(*first);
  const proxy::SnapshotPtr a = proxy::buildSnapshot(first, registry.liveSource());
  registry.adopt(*second);
  const proxy::SnapshotPtr b = proxy::buildSnapshot(second, registry.liveSource());

  for (const proxy::SnapshotPtr& snapshot : {a, b}) {
    const config::Backend& backend = snapshot->config->backends[0];
    const lb::LiveServers& live = *snapshot->backends[0].live;
    ASSERT_EQ(live.size(), backend.servers.size());
    for (std::size_t j = 0; j < live.size(); ++j) {
      EXPECT_EQ(live.record(j), registry.find("app", backend.servers[j].name)->live.get())
          << backend.servers[j].name;
    }
  }
  // s1 is at 0 in the first snapshot and at 2 in the second: the same record.
  EXPECT_EQ(a->backends[0].live->record(0), b->backends[0].live->record(2));
  EXPECT_EQ(a->backends[0].live->record(2), b->backends[0].live->record(0));  // s3
  EXPECT_NE(a->backends[0].live->record(0), b->backends[0].live->record(0));

  // A change through the registry shows in both snapshots at the server's own position.
  registry.apply(*registry.find("app", "s1"),
                 health::Event::adminSet(health::AdminState::Maintenance), "test");
  EXPECT_FALSE(a->backends[0].live->eligible(0));
  EXPECT_FALSE(b->backends[0].live->eligible(2));
  EXPECT_TRUE(b->backends[0].live->eligible(0));  // s3 is untouched
}

// ---- apply --------------------------------------------------------------------------------------

TEST(ServerRegistryTest, HealthEventsFlipEligibilityAfterFallAndRiseAndCountTransitions) {
  ServerRegistry registry;
  registry.adopt(*loadShared(appConfig(kThree, "health_check: { type: tcp, rise: 2, fall: 3 }")));
  ServerRecord& s1 = *registry.find("app", "s1");
  // Initial down: one success makes it UP (a logged change).
  health::Transition t = registry.apply(s1, kOk, "check");
  EXPECT_TRUE(s1.live->eligible.load());
  EXPECT_TRUE(t.actions.has(health::Action::RecomputeEligibility));
  EXPECT_EQ(s1.transitions, 1u);

  // fall - 1 failures: going down, still eligible, no logged change.
  for (int i = 0; i < 2; ++i) {
    t = registry.apply(s1, kFail, "check");
    EXPECT_TRUE(s1.live->eligible.load()) << i;
    EXPECT_FALSE(t.actions.has(health::Action::LogAndCount)) << i;
  }
  EXPECT_EQ(s1.transitions, 1u);
  EXPECT_EQ(s1.state.count, 2u);
  // The fall-th: DOWN.
  t = registry.apply(s1, kFail, "check");
  EXPECT_FALSE(s1.live->eligible.load());
  EXPECT_EQ(s1.state.health, health::Health::Down);
  EXPECT_EQ(t.state, s1.state);
  EXPECT_TRUE(t.actions.has(health::Action::LogAndCount));
  EXPECT_TRUE(t.actions.has(health::Action::RecomputeEligibility));
  EXPECT_FALSE(t.actions.has(health::Action::CloseSessions));  // on_marked_down defaults to keep
  EXPECT_EQ(s1.transitions, 2u);

  // rise successes: UP again.
  registry.apply(s1, kOk, "check");
  EXPECT_FALSE(s1.live->eligible.load());
  registry.apply(s1, kOk, "check");
  EXPECT_TRUE(s1.live->eligible.load());
  EXPECT_EQ(s1.transitions, 3u);
  // The others are untouched.
  EXPECT_FALSE(registry.find("app", "s2")->live->eligible.load());
  EXPECT_EQ(registry.find("app", "s2")->transitions, 0u);
}

TEST(ServerRegistryTest, AdminEventsChangeEligibilityAndCount) {
  ServerRegistry registry;
  registry.adopt(*loadShared(appConfig(kThree)));
  ServerRecord& s1 = *registry.find("app", "s1");
  registry.apply(s1, health::Event::adminSet(health::AdminState::Draining), "admin");
  EXPECT_FALSE(s1.live->eligible.load());
  registry.apply(s1, health::Event::adminSet(health::AdminState::Draining), "admin again");
  EXPECT_EQ(s1.transitions, 1u);  // no change, not counted
  registry.apply(s1, health::Event::adminSet(health::AdminState::Active), "admin");
  EXPECT_TRUE(s1.live->eligible.load());
  EXPECT_EQ(s1.transitions, 2u);
}

TEST(ServerRegistryTest, OnMarkedDownShutdownClosesSessionsWhenChecksMarkItDown) {
  ServerRegistry registry;
  registry.adopt(*loadShared(appConfig(kThree,
                                 "health_check: { type: tcp, rise: 1, fall: 2 }\n"
                                 "    on_marked_down: shutdown")));
  ServerRecord& s1 = *registry.find("app", "s1");
  registry.apply(s1, kOk, "check");
  ASSERT_TRUE(s1.live->eligible.load());
  health::Transition t = registry.apply(s1, kFail, "check");
  EXPECT_FALSE(t.actions.has(health::Action::CloseSessions));  // only going down
  t = registry.apply(s1, kFail, "check");
  EXPECT_FALSE(s1.live->eligible.load());
  EXPECT_TRUE(t.actions.has(health::Action::CloseSessions));
  // A further failure while down closes nothing more.
  t = registry.apply(s1, kFail, "check");
  EXPECT_FALSE(t.actions.has(health::Action::CloseSessions));
}

// ---- reconcile (reload) --------------------------------------------------------------------------

constexpr std::string_view kChecked = "health_check: { type: tcp, rise: 2, fall: 2 }";

// A kept server whose lines did not change keeps everything it has at run time: its health
// (DOWN here), a drained admin state and a weight set on the admin socket.
TEST(ServerRegistryTest, ReconcileKeepsRuntimeStateOfUnchangedServers) {
  const auto running = loadShared(appConfig(kThree, kChecked));
  ServerRegistry registry;
  registry.adopt(*running);
  ServerRecord& s1 = *registry.find("app", "s1");
  ServerRecord& s2 = *registry.find("app", "s2");
  ServerRecord& s3 = *registry.find("app", "s3");
  registry.apply(s2, kOk, "check");
  registry.apply(s3, kOk, "check");
  registry.apply(s3, health::Event::adminSet(health::AdminState::Draining), "admin");
  s2.weight = 40;
  const health::ServerState s1Before = s1.state;
  ASSERT_EQ(s1Before.health, health::Health::Down);

  const auto next = loadShared(appConfig(kThree, kChecked));  // the same file, reread
  const auto transitions = registry.reconcile(*running, *next);
  EXPECT_TRUE(transitions.empty());
  EXPECT_EQ(s1.state, s1Before);
  EXPECT_FALSE(s1.live->eligible.load());
  EXPECT_EQ(s2.state.health, health::Health::Up);
  EXPECT_EQ(s2.weight, 40u) << "a runtime weight survives an unchanged file";
  EXPECT_EQ(s3.state.admin, health::AdminState::Draining);
  EXPECT_EQ(ids(registry), (std::vector<std::string>{"app/s1", "app/s2", "app/s3"}));
}

// What the file changed wins: a new weight replaces a runtime one, a new state applies as an
// admin transition (returned, for its actions), and a new address starts the health over.
TEST(ServerRegistryTest, ReconcileAppliesWhatTheFileChanged) {
  const auto running = loadShared(appConfig(kThree, kChecked));
  ServerRegistry registry;
  registry.adopt(*running);
  ServerRecord& s1 = *registry.find("app", "s1");
  ServerRecord& s2 = *registry.find("app", "s2");
  ServerRecord& s3 = *registry.find("app", "s3");
  for (ServerRecord* r : {&s1, &s2, &s3}) registry.apply(*r, kOk, "check");
  s1.weight = 40;
  registry.apply(s3, health::Event::adminSet(health::AdminState::Draining), "admin");
  const lb::LiveServer* s3Live = s3.live.get();

  const auto next = loadShared(appConfig(
      "      - { name: s1, address: \"10.0.0.1:80\", weight: 70 }\n"
      "      - { name: s2, address: \"10.0.0.2:80\", state: maintenance }\n"
      "      - { name: s3, address: \"10.0.0.9:80\" }\n",
      kChecked));
  const auto transitions = registry.reconcile(*running, *next);
  EXPECT_EQ(s1.weight, 70u);
  EXPECT_EQ(s1.state.health, health::Health::Up);
  ASSERT_EQ(transitions.size(), 1u);
  EXPECT_EQ(transitions[0].record, &s2);
  EXPECT_EQ(s2.state.admin, health::AdminState::Maintenance);
  EXPECT_FALSE(s2.live->eligible.load());
  EXPECT_EQ(s3.address.toString(), "10.0.0.9:80");
  EXPECT_EQ(s3.state.health, health::Health::Down) << "a new address is a new machine: checks decide";
  EXPECT_EQ(s3.state.admin, health::AdminState::Draining) << "the drain set at run time stays";
  EXPECT_EQ(s3.live.get(), s3Live) << "same identity, same counters";
  EXPECT_EQ(s1.fileWeight, 70u);
  EXPECT_EQ(s2.fileState, health::AdminState::Maintenance);
}

// Added servers start as new ones do; removed ones leave the order (no checks, not shown) but
// keep their record for the sessions still open; one that comes back starts over.
TEST(ServerRegistryTest, ReconcileAddsRemovesAndRestartsReturningServers) {
  const auto running = loadShared(appConfig(kThree));
  ServerRegistry registry;
  registry.adopt(*running);
  ServerRecord* s2 = registry.find("app", "s2");
  registry.apply(*s2, health::Event::adminSet(health::AdminState::Draining), "admin");

  const auto without = loadShared(appConfig("      - { name: s1, address: \"10.0.0.1:80\" }\n"
                                      "      - { name: s4, address: \"10.0.0.4:80\" }\n"
                                      "      - { name: s3, address: \"10.0.0.3:80\" }\n"));
  registry.reconcile(*running, *without);
  EXPECT_EQ(ids(registry), (std::vector<std::string>{"app/s1", "app/s4", "app/s3"}));
  EXPECT_EQ(registry.find("app", "s2"), s2) << "a removed server's record stays";
  EXPECT_EQ(registry.find("app", "s4")->state.admin, health::AdminState::Active);

  const auto back = loadShared(appConfig(kThree));
  registry.reconcile(*without, *back);
  EXPECT_EQ(registry.find("app", "s2"), s2);
  EXPECT_EQ(s2->state.admin, health::AdminState::Active) << "back from removal: the file's state";
}

// Turning checks off brings a DOWN server up (nothing would ever check it again); turning them
// on applies the state machine's checks_enabled.
TEST(ServerRegistryTest, ReconcileFollowsChecksTurnedOnAndOff) {
  const auto checked = loadShared(appConfig(kThree, kChecked));
  ServerRegistry registry;
  registry.adopt(*checked);
  ServerRecord& s1 = *registry.find("app", "s1");
  ASSERT_EQ(s1.state.health, health::Health::Down);
  const auto unchecked = loadShared(appConfig(kThree));
  const auto off = registry.reconcile(*checked, *unchecked);
  EXPECT_EQ(off.size(), 3u);
  EXPECT_FALSE(s1.state.checked);
  EXPECT_TRUE(s1.live->eligible.load());
  const auto on = registry.reconcile(*unchecked, *checked);
  EXPECT_EQ(on.size(), 3u);
  EXPECT_TRUE(s1.state.checked);
}

}  // namespace
}  // namespace ringlb::control
