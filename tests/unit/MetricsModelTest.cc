// control::buildModel: every worker's counters summed by slot, servers' state and weights from
// the registry, eligibility counts per backend, and every close reason listed.
#include "ringlb/control/MetricsModel.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ringlb/config/Loader.h"
#include "ringlb/health/ServerState.h"
#include "ringlb/proxy/Session.h"

namespace ringlb::control {
namespace {

constexpr const char* kYaml = R"(
frontends:
  - { name: web, listen: "127.0.0.1:0", backend: app }
  - { name: sql, listen: "127.0.0.1:0", backend: db }
backends:
  - name: app
    servers:
      - { name: s1, address: "10.0.0.1:80" }
      - { name: s2, address: "10.0.0.2:80", weight: 50 }
      - { name: b1, address: "10.0.0.3:80", backup: true }
  - name: db
    servers:
      - { name: d1, address: "10.0.1.1:5432" }
)";

class MetricsModelTest : public testing::Test {
 protected:
  void SetUp() override {
    config::LoadResult loaded = config::loadString(kYaml);
    ASSERT_TRUE(loaded.ok());
    auto config = std::make_shared<const config::Config>(std::move(*loaded.config));
    registry_.adopt(*config);
    // Slots that are not positions, as after a reload reordered things.
    names_.slotOf("db");
    names_.slotOf("sql");
    snapshot_ = proxy::buildSnapshot(config, registry_.liveSource(), {},
                                     proxy::SlotSources{[this](std::string_view n) { return names_.slotOf(n); },
                                                        [this](std::string_view n) { return names_.slotOf(n); }});
    for (auto& w : workers_) {
      w = std::make_unique<stats::WorkerCounters>();
      w->frontends.reserve(snapshot_->slotLimits.frontends);
      w->backends.reserve(snapshot_->slotLimits.backends);
      w->servers.reserve(snapshot_->slotLimits.servers);
    }
  }
  stats::Model build() {
    MetricsInputs in;
    in.snapshot = snapshot_.get();
    in.registry = &registry_;
    for (auto& w : workers_) in.workers.push_back(w.get());
    in.process.workers = 2;
    in.process.version = "1.2.3";
    return buildModel(in);
  }
  uint32_t serverSlot(const char* backend, const char* server) { return registry_.find(backend, server)->live->id; }

  ServerRegistry registry_;
  stats::SlotNames names_;
  proxy::SnapshotPtr snapshot_;
  std::unique_ptr<stats::WorkerCounters> workers_[2];
};

TEST_F(MetricsModelTest, SumsWorkersBySlotInConfigOrder) {
  const uint32_t web = snapshot_->frontendSlots[0];
  const uint32_t app = snapshot_->backendSlots[0];
  EXPECT_NE(web, 0u) << "the test wants slots that differ from positions";
  workers_[0]->add(web, stats::FrontendStat::Accepted, 7);
  workers_[1]->add(web, stats::FrontendStat::Accepted, 3);
  workers_[0]->add(web, stats::FrontendStat::Sessions, 5);
  workers_[1]->add(web, stats::FrontendStat::Sessions, 3);
  workers_[0]->add(web, stats::FrontendStat::Closed, 6);
  workers_[1]->add(web, stats::FrontendStat::BytesIn, 100);
  workers_[0]->add(web, stats::FrontendStat::BytesOut, 7);
  workers_[0]->add(web, stats::FrontendStat::Limited, 2);
  workers_[0]->add(app, stats::BackendStat::Opened, 8);
  workers_[1]->add(app, stats::BackendStat::Closed, 6);
  workers_[1]->add(app, stats::BackendStat::Retries, 4);
  workers_[0]->add(app, stats::BackendStat::NoServer, 1);
  workers_[0]->add(app, stats::BackendStat::ConnectErrors, 9);
  const uint32_t s2 = serverSlot("app", "s2");
  workers_[0]->connected(s2, 300);      // 0.3 ms: the 0.0005 bucket
  workers_[1]->connected(s2, 7000000);  // 7 s: +Inf
  workers_[1]->add(s2, stats::ServerStat::BytesOut, 42);
  registry_.find("app", "s2")->live->active.store(2);

  const stats::Model m = build();
  ASSERT_EQ(m.frontends.size(), 2u);
  EXPECT_EQ(m.frontends[0].name, "web");
  EXPECT_EQ(m.frontends[0].accepted, 10u);
  EXPECT_EQ(m.frontends[0].sessions, 8u);
  EXPECT_EQ(m.frontends[0].current, 2u);
  EXPECT_EQ(m.frontends[0].bytesIn, 100u);
  EXPECT_EQ(m.frontends[0].bytesOut, 7u);
  EXPECT_EQ(m.frontends[0].limited, 2u);
  EXPECT_EQ(m.frontends[1].accepted, 0u) << "another frontend's counts leaked in";
  ASSERT_EQ(m.backends.size(), 2u);
  EXPECT_EQ(m.backends[0].name, "app");
  EXPECT_EQ(m.backends[0].current, 2u);
  EXPECT_EQ(m.backends[0].retries, 4u);
  EXPECT_EQ(m.backends[0].noServer, 1u);
  EXPECT_EQ(m.backends[0].connectErrors, 9u);
  ASSERT_EQ(m.servers.size(), 4u);
  const stats::ServerValues& v = m.servers[1];
  EXPECT_EQ(v.backend, "app");
  EXPECT_EQ(v.name, "s2");
  EXPECT_EQ(v.connections, 2u);
  EXPECT_EQ(v.current, 2u);
  EXPECT_EQ(v.bytesOut, 42u);
  EXPECT_EQ(v.weight, 50u);
  EXPECT_EQ(v.connectTime.count, 2u);
  EXPECT_DOUBLE_EQ(v.connectTime.sum, 7.0003);
  ASSERT_EQ(v.connectTime.buckets.size(), stats::kConnectTimeBounds.size() + 1);
  EXPECT_EQ(v.connectTime.buckets[2], 1u);  // <= 0.0005 s
  EXPECT_EQ(v.connectTime.buckets.back(), 1u);
  EXPECT_EQ(m.servers[0].connections, 0u);
}

TEST_F(MetricsModelTest, StatesAndEligibleServerCounts) {
  ServerRecord& s1 = *registry_.find("app", "s1");
  registry_.apply(s1, health::Event::adminSet(health::AdminState::Draining), "test");
  const stats::Model m = build();
  EXPECT_EQ(m.servers[0].state, "draining");
  EXPECT_EQ(m.servers[0].transitions, 1u);
  EXPECT_EQ(m.servers[1].state, "up");
  EXPECT_TRUE(m.servers[2].backup);
  EXPECT_EQ(m.backends[0].eligibleServers, 2u);  // s2 and the backup
  EXPECT_EQ(m.backends[0].activeServers, 1u);
  EXPECT_EQ(m.backends[0].backupServers, 1u);
  registry_.apply(*registry_.find("db", "d1"), health::Event::adminSet(health::AdminState::Maintenance), "test");
  EXPECT_EQ(build().servers[3].state, "maintenance");
  EXPECT_EQ(build().backends[1].eligibleServers, 0u);
}

TEST(MetricsStateTest, DownUnlessUpAndActive) {
  health::HealthParams params;
  health::ServerState s = health::initialState(params, true);
  s.health = health::Health::Down;
  EXPECT_STREQ(metricsState(s), "down");
  s.health = health::Health::Up;
  EXPECT_STREQ(metricsState(s), "up");
}

TEST_F(MetricsModelTest, EveryCloseReasonIsListedAndSummed) {
  workers_[0]->closed[static_cast<std::size_t>(proxy::CloseReason::Completed)].add(3);
  workers_[1]->closed[static_cast<std::size_t>(proxy::CloseReason::Completed)].add(4);
  workers_[1]->closed[static_cast<std::size_t>(proxy::CloseReason::AdminKill)].add(1);
  const stats::Model m = build();
  ASSERT_EQ(m.closedByReason.size(), static_cast<std::size_t>(proxy::CloseReason::Internal));
  EXPECT_EQ(m.closedByReason.front(), (std::pair<std::string, uint64_t>{"completed", 7}));
  bool sawKill = false;
  for (const auto& [name, n] : m.closedByReason) {
    EXPECT_NE(name, "none");
    if (name == "admin_kill") sawKill = n == 1;
  }
  EXPECT_TRUE(sawKill);
  EXPECT_EQ(m.process.version, "1.2.3");
  ASSERT_EQ(m.workers.size(), 2u);
  EXPECT_EQ(m.workers[1].id, 1u);
}

}  // namespace
}  // namespace ringlb::control
