// control::SnapshotPublisher: a backend's balancers are rebuilt off the loop with the registry's
// weights and published from the loop; other backends and the live records are shared; requests
// made during a rebuild merge into one next rebuild that sees the latest weights.
#include "ringlb/control/SnapshotPublisher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ringlb/config/Loader.h"
#include "ConfigFixture.h"

namespace ringlb::control {
namespace {

using namespace std::chrono_literals;

constexpr const char* kYaml = R"(
frontends:
  - { name: web, listen: "127.0.0.1:0", backend: app }
  - { name: sql, listen: "127.0.0.1:0", backend: db }
backends:
  - name: app
    servers:
      - { name: s1, address: "10.0.0.1:80" }
      - { name: s2, address: "10.0.0.2:80" }
      - { name: s3, address: "10.0.0.3:80" }
  - name: db
    servers:
      - { name: d1, address: "10.0.1.1:5432" }
)";

class SnapshotPublisherTest : public testing::Test {
 protected:
  void SetUp() override {
    config::LoadResult loaded = config::loadString(kYaml);
    ASSERT_TRUE(loaded.ok());
    auto config = std::make_shared<const config::Config>(std::move(*loaded.config));
    registry_.adopt(*config);
    initial_ = proxy::buildSnapshot(config, registry_.liveSource());
    std::string error;
    loop_ = io::EventLoop::create(&error);
    ASSERT_NE(loop_, nullptr) << error;
    builder_ = std::make_unique<io::BackgroundThread>(*loop_);
    publisher_ = std::make_unique<SnapshotPublisher>(
        *builder_, registry_, initial_,
        [this](const proxy::SnapshotPtr& s) { published_.push_back(s); });
  }
  void TearDown() override {
    publisher_.reset();
    builder_.reset();
  }

  bool turnUntilIdle() {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!publisher_->idle()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      loop_->runOnce(50ms);
    }
    return true;
  }
  // Holds the background thread until the returned promise is set: what a slow build looks like.
  std::promise<void> occupyBuilder() {
    std::promise<void> release;
    builder_->submit([held = release.get_future().share()]() -> io::BackgroundThread::Continuation {
      held.wait();
      return {};
    });
    return release;
  }
  // The app servers that `snapshot` offers over many client keys.
  static std::set<uint32_t> appOffers(const proxy::SnapshotPtr& snapshot) {
    const proxy::BackendRuntime& app = snapshot->backends[0];
    auto picker = app.primary.balancer->makePicker();
    std::set<uint32_t> seen;
    for (uint64_t key = 1; key <= 200; ++key) {
      lb::Candidates out;
      proxy::rankServers(app, *picker, nullptr, lb::PickInput{key * 0x9e3779b97f4a7c15ull, nullptr}, 1, out);
      if (out.count > 0) seen.insert(out.index[0]);
    }
    return seen;
  }

  ServerRegistry registry_;
  proxy::SnapshotPtr initial_;
  std::unique_ptr<io::EventLoop> loop_;
  std::unique_ptr<io::BackgroundThread> builder_;
  std::unique_ptr<SnapshotPublisher> publisher_;
  std::vector<proxy::SnapshotPtr> published_;
};

TEST_F(SnapshotPublisherTest, RebuildsOneBackendAndSharesTheRest) {
  ASSERT_TRUE(publisher_->rebuild("app"));
  EXPECT_EQ(publisher_->current(), initial_) << "published before the build finished";
  ASSERT_TRUE(turnUntilIdle());
  ASSERT_EQ(published_.size(), 1u);
  const proxy::SnapshotPtr& next = published_[0];
  EXPECT_EQ(publisher_->current(), next);
  EXPECT_NE(next, initial_);
  EXPECT_NE(next->backends[0].primary.balancer, initial_->backends[0].primary.balancer);
  EXPECT_EQ(next->backends[1].primary.balancer, initial_->backends[1].primary.balancer);
  EXPECT_EQ(next->config, initial_->config);
  EXPECT_EQ(next->counters, initial_->counters);
  // The servers' live records are the registry's, before and after.
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(next->backends[0].live->record(i), initial_->backends[0].live->record(i));
  }
}

TEST_F(SnapshotPublisherTest, UnknownBackendIsRefused) {
  EXPECT_FALSE(publisher_->rebuild("nope"));
  EXPECT_TRUE(publisher_->idle());
  EXPECT_EQ(publisher_->published(), 0u);
}

TEST_F(SnapshotPublisherTest, NewWeightTakesEffectInThePublishedSnapshot) {
  ASSERT_EQ(appOffers(initial_), (std::set<uint32_t>{0, 1, 2}));
  registry_.find("app", "s2")->weight = 0;
  ASSERT_TRUE(publisher_->rebuild("app"));
  ASSERT_TRUE(turnUntilIdle());
  EXPECT_EQ(appOffers(publisher_->current()), (std::set<uint32_t>{0, 2}));
  EXPECT_EQ(appOffers(initial_), (std::set<uint32_t>{0, 1, 2})) << "the old snapshot changed";
}

// A rebuild waiting behind a slow one: every request made meanwhile merges into one rebuild,
// which reads the weights as they are when it starts (the last `set weight` wins).
TEST_F(SnapshotPublisherTest, RequestsDuringABuildMergeIntoOneWithTheLatestWeights) {
  std::promise<void> release = occupyBuilder();
  // Each callback records how many snapshots were published when it ran.
  std::vector<std::size_t> firstDone;
  std::vector<std::size_t> secondDone;
  ASSERT_TRUE(publisher_->rebuild("app", [&] { firstDone.push_back(published_.size()); }));
  registry_.find("app", "s1")->weight = 0;
  ASSERT_TRUE(publisher_->rebuild("app", [&] { secondDone.push_back(published_.size()); }));
  registry_.find("app", "s3")->weight = 0;
  ASSERT_TRUE(publisher_->rebuild("app"));
  ASSERT_TRUE(publisher_->rebuild("db"));
  EXPECT_FALSE(publisher_->idle());
  release.set_value();
  ASSERT_TRUE(turnUntilIdle());
  ASSERT_EQ(published_.size(), 2u) << "four requests during a build: that build and one more";
  EXPECT_EQ(appOffers(published_[0]), (std::set<uint32_t>{0, 1, 2})) << "the first build's weights";
  EXPECT_EQ(appOffers(published_[1]), (std::set<uint32_t>{1})) << "the merged build's weights";
  EXPECT_NE(published_[1]->backends[1].primary.balancer, initial_->backends[1].primary.balancer)
      << "db was asked for too";
  // The second build started from the first's result.
  EXPECT_EQ(publisher_->current(), published_[1]);
  // Each request heard once, right after the snapshot that carried it was published.
  EXPECT_EQ(firstDone, (std::vector<std::size_t>{1}));
  EXPECT_EQ(secondDone, (std::vector<std::size_t>{2}));
}

// The configuration after a reload: app gains s4, db is unchanged, cache is new, and the
// frontends come in another order.
constexpr const char* kReloaded = R"(
frontends:
  - { name: sql, listen: "127.0.0.1:0", backend: db }
  - { name: web, listen: "127.0.0.1:0", backend: app }
backends:
  - name: cache
    servers:
      - { name: c1, address: "10.0.2.1:11211" }
  - name: db
    servers:
      - { name: d1, address: "10.0.1.1:5432" }
  - name: app
    servers:
      - { name: s1, address: "10.0.0.1:80" }
      - { name: s2, address: "10.0.0.2:80" }
      - { name: s3, address: "10.0.0.3:80" }
      - { name: s4, address: "10.0.0.4:80" }
)";


// A reload's snapshot is built off the loop from sources read when its build starts; backends
// whose balancer inputs did not change (db, moved to another position) share the running
// snapshot's balancers, the others are built; the shared counters and live records carry over.
TEST_F(SnapshotPublisherTest, ReplaceReusesUnchangedBackendsByName) {
  const auto next = config::loadShared(kReloaded);
  registry_.reconcile(*initial_->config, *next);
  int sourcesRead = 0;
  bool done = false;
  publisher_->replace(
      next,
      [&] {
        ++sourcesRead;
        proxy::SnapshotSources sources;
        sources.live = registry_.liveSource();
        sources.counters = initial_->counters;
        return sources;
      },
      [&] { done = true; });
  ASSERT_TRUE(turnUntilIdle());
  ASSERT_TRUE(done);
  EXPECT_EQ(sourcesRead, 1);
  ASSERT_EQ(published_.size(), 1u);
  const proxy::Snapshot& s = *published_[0];
  EXPECT_EQ(s.config, next);
  EXPECT_EQ(s.counters, initial_->counters) << "limits would be counted twice";
  ASSERT_EQ(s.backends.size(), 3u);
  EXPECT_FALSE(s.reusedGroups[0]) << "cache is new";
  EXPECT_TRUE(s.reusedGroups[1]) << "db did not change";
  EXPECT_EQ(s.backends[1].primary.balancer, initial_->backends[1].primary.balancer);
  EXPECT_FALSE(s.reusedGroups[2]) << "app gained a server";
  // s1..s3 keep their live records (state, connection counts) at their new positions.
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(s.backends[2].live->record(i), initial_->backends[0].live->record(i));
  }
}

// A weight rebuild asked for before a replace's build starts is folded into it (one build, which
// reads every weight), and a rebuild of a backend only the replacement has is accepted.
TEST_F(SnapshotPublisherTest, ReplaceFoldsEarlierRebuildsAndKnowsItsBackends) {
  std::promise<void> release = occupyBuilder();
  ASSERT_TRUE(publisher_->rebuild("db"));  // a build in progress (held behind the occupier)
  const auto next = config::loadShared(kReloaded);
  registry_.reconcile(*initial_->config, *next);
  bool weightApplied = false;
  registry_.find("app", "s2")->weight = 0;
  ASSERT_TRUE(publisher_->rebuild("app", [&] { weightApplied = true; }));
  publisher_->replace(next, [&] {
    proxy::SnapshotSources sources;
    sources.live = registry_.liveSource();
    sources.weight = [this](const config::Backend& b, const config::Server& srv) {
      return ServerRegistry::effectiveWeight(*registry_.find(b.name, srv.name));
    };
    sources.counters = initial_->counters;
    return sources;
  });
  EXPECT_TRUE(publisher_->rebuild("cache")) << "cache is in the configuration being built";
  EXPECT_EQ(publisher_->latestConfig().backends.size(), 3u);
  release.set_value();
  ASSERT_TRUE(turnUntilIdle());
  EXPECT_TRUE(weightApplied);
  ASSERT_EQ(published_.size(), 2u) << "db's build, then the replacement with app folded in";
  EXPECT_EQ(published_[0]->config, initial_->config);
  EXPECT_EQ(published_[1]->config, next);
  // app is at position 2 now; s2 (index 1) has weight 0 there.
  std::set<uint32_t> seen;
  const proxy::BackendRuntime& app = published_[1]->backends[2];
  auto picker = app.primary.balancer->makePicker();
  for (uint64_t key = 1; key <= 400; ++key) {
    lb::Candidates out;
    proxy::rankServers(app, *picker, nullptr, lb::PickInput{key * 0x9e3779b97f4a7c15ull, nullptr}, 1, out);
    if (out.count > 0) seen.insert(out.index[0]);
  }
  EXPECT_EQ(seen, (std::set<uint32_t>{0, 2, 3}));
}

}  // namespace
}  // namespace ringlb::control
