// Backup servers at pick time (proxy::rankServers over a snapshot's server groups): backups are
// never offered while a primary can take the connection, are offered (as backend server indexes)
// when none can, and the primaries take over again as soon as one is back.
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "ringlb/config/Loader.h"
#include "ringlb/proxy/Snapshot.h"

namespace ringlb::proxy {
namespace {

constexpr const char* kYaml = R"(
frontends:
  - { name: web, listen: "127.0.0.1:0", backend: app }
backends:
  - name: app
    balance: roundrobin
    servers:
      - { name: p1, address: "10.0.0.1:80" }
      - { name: b1, address: "10.0.0.2:80", backup: true }
      - { name: p2, address: "10.0.0.3:80" }
      - { name: b2, address: "10.0.0.4:80", backup: true }
)";

class ServerGroupTest : public testing::Test {
 protected:
  void SetUp() override {
    config::LoadResult loaded = config::loadString(kYaml);
    ASSERT_TRUE(loaded.ok());
    snapshot_ = buildSnapshot(std::make_shared<const config::Config>(std::move(*loaded.config)));
    const BackendRuntime& runtime = snapshot_->backends[0];
    primary_ = runtime.primary.balancer->makePicker();
    ASSERT_TRUE(runtime.backup.has_value());
    backup_ = runtime.backup->balancer->makePicker();
  }
  // The server indexes offered over `picks` picks (3 candidates each).
  std::set<uint32_t> offered(int picks) {
    std::set<uint32_t> seen;
    for (int i = 0; i < picks; ++i) {
      lb::Candidates out;
      rankServers(snapshot_->backends[0], *primary_, backup_.get(), lb::PickInput{}, 3, out);
      for (std::size_t c = 0; c < out.count; ++c) seen.insert(out.index[c]);
    }
    return seen;
  }
  lb::LiveServers& live() { return *snapshot_->backends[0].live; }

  SnapshotPtr snapshot_;
  std::unique_ptr<lb::Picker> primary_;
  std::unique_ptr<lb::Picker> backup_;
};

TEST_F(ServerGroupTest, GroupsSplitPrimariesFromBackups) {
  const BackendRuntime& runtime = snapshot_->backends[0];
  EXPECT_EQ(runtime.primary.index, (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(runtime.backup->index, (std::vector<uint32_t>{1, 3}));
  // The groups share the servers' live records: one state per server.
  EXPECT_EQ(runtime.primary.live->record(1), runtime.live->record(2));
  EXPECT_EQ(runtime.backup->live->record(0), runtime.live->record(1));
}

TEST_F(ServerGroupTest, BackupsOnlyWhenNoPrimaryCan) {
  EXPECT_EQ(offered(20), (std::set<uint32_t>{0, 2})) << "a backup was offered beside a primary";
  live().setEligible(0, false);
  EXPECT_EQ(offered(20), (std::set<uint32_t>{2})) << "one primary left: no backup yet";
  live().setEligible(2, false);
  EXPECT_EQ(offered(20), (std::set<uint32_t>{1, 3})) << "no primary: the backups, as backend indexes";
  live().setEligible(2, true);
  EXPECT_EQ(offered(20), (std::set<uint32_t>{2})) << "a primary back takes over again";
}

TEST_F(ServerGroupTest, NothingWhenEveryServerIsUnavailable) {
  for (std::size_t i = 0; i < live().size(); ++i) live().setEligible(i, false);
  EXPECT_TRUE(offered(5).empty());
}

}  // namespace
}  // namespace ringlb::proxy
