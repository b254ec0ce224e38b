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

}  // namespace
}  // namespace ringlb::control
