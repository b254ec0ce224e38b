// Thousands of clients that connect and go away at once, with FIN or with RST, before or after
// sending a few bytes, leave nothing behind: the proxy keeps serving, closes every backend
// connection it opened for them, and returns to its baseline descriptors and memory.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support/Client.h"
#include "support/FaultTools.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"

namespace ringlb::test {
namespace {

constexpr int kConnections = 2000;
// Open at once, at most: well under any descriptor limit of the test process.
constexpr int kBatch = 200;
// Descriptors the proxy may hold above its baseline at the end (none is expected).
constexpr int kDescriptorSlack = 3;
// RSS may end this close to its baseline: the allocator's own slack, not per-connection state.
constexpr long kRssSlackKb = 8 * 1024;

enum class Abandon { Fin, Reset };

// Connects and checks one echo round trip, then closes.
::testing::AssertionResult echoRoundTrip(std::uint16_t port) {
  ConnectResult c = connectLocal(port, 5s);
  if (!c.fd) return ::testing::AssertionFailure() << "connect: " << std::strerror(c.error);
  if (!sendAll(c.fd.get(), "still there?", Deadline(5s))) {
    return ::testing::AssertionFailure() << "send failed";
  }
  if (recvExact(c.fd.get(), 12, Deadline(5s)) != "still there?") {
    return ::testing::AssertionFailure() << "no echo";
  }
  return ::testing::AssertionSuccess();
}

// Opens kConnections connections in batches of kBatch and abandons each: even ones right after
// the connect (usually before the proxy has even accepted them), odd ones after sending a few
// bytes, when the batch is complete (the proxy has had time to connect them through).
void abandonConnections(std::uint16_t port, Abandon how) {
  auto drop = [how](Fd& fd) {
    if (how == Abandon::Reset) {
      closeWithReset(fd);
    } else {
      fd.reset();
    }
  };
  for (int done = 0; done < kConnections;) {
    std::vector<Fd> held;
    for (int i = 0; i < kBatch && done < kConnections; ++i, ++done) {
      ConnectResult c = connectLocal(port, 10s);
      ASSERT_TRUE(c.fd) << "connection " << done << ": " << std::strerror(c.error);
      if (done % 2 == 0) {
        drop(c.fd);
        continue;
      }
      ASSERT_TRUE(sendAll(c.fd.get(), "abandoned", Deadline(5s))) << "connection " << done;
      held.push_back(std::move(c.fd));
    }
    for (Fd& fd : held) drop(fd);
  }
}

// Waits until the process holds at most `limit` descriptors; returns the last count seen.
int waitDescriptorsAtMost(pid_t pid, int limit, const Deadline& deadline) {
  int count = openDescriptors(pid);
  while (count > limit && !deadline.passed()) {
    std::this_thread::sleep_for(50ms);
    count = openDescriptors(pid);
  }
  return count;
}

class AbandonTest : public ::testing::TestWithParam<Abandon> {};

// 2,000 connections abandoned (half at once, half after a few bytes): the proxy still serves a
// fresh client, every backend connection it opened is closed, and its descriptor count and RSS
// return to their baselines.
TEST_P(AbandonTest, AbandonedConnectionsLeaveNothingBehind) {
  ASSERT_GE(raiseDescriptorLimit(), static_cast<std::uint64_t>(kBatch + 256))
      << "the test process cannot hold a batch of connections";
  EchoSwarmBackend backend;
  ASSERT_NE(backend.port(), 0);
  ProxyConfig cfg;
  // A small buffer pool, so that first touching it is not mistaken for growth in the RSS check.
  cfg.buffers = 64;
  // The production default: the burst can overflow the backend's accept queue, and a SYN it
  // dropped is retried after 1 s, which the tests' usual 1 s connect timeout would cut short.
  cfg.connectTimeout = "5s";
  cfg.servers = {backend.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  const std::uint16_t port = proxy.port();
  const int fdBefore = openDescriptors(proxy.pid());
  ASSERT_GT(fdBefore, 0);

  ASSERT_TRUE(echoRoundTrip(port)) << "not serving even before the fault";
  ASSERT_TRUE(backend.waitOpenAtMost(0, Deadline(10s)));
  ASSERT_LE(waitDescriptorsAtMost(proxy.pid(), fdBefore, Deadline(10s)), fdBefore)
      << "one ordinary connection left a descriptor behind";
  const long rssBefore = proxy.rssKb();
  ASSERT_GT(rssBefore, 0);

  const auto start = Clock::now();
  ASSERT_NO_FATAL_FAILURE(abandonConnections(port, GetParam()));
  std::printf("[   INFO   ] abandoned %d connections in %lld ms\n", kConnections,
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)
                      .count()));

  ASSERT_TRUE(proxy.running()) << "the proxy died";
  EXPECT_TRUE(echoRoundTrip(port)) << "not serving after the abandoned connections";
  EXPECT_TRUE(backend.waitOpenAtMost(0, Deadline(30s)))
      << backend.open() << " backend connections are still open";
  std::printf("[   INFO   ] the backend saw %llu connections, %llu of them reset\n",
              static_cast<unsigned long long>(backend.accepted()),
              static_cast<unsigned long long>(backend.resets()));
  const int fdAfter =
      waitDescriptorsAtMost(proxy.pid(), fdBefore + kDescriptorSlack, Deadline(30s));
  std::printf("[   INFO   ] proxy descriptors: %d at the baseline, %d at the end\n", fdBefore,
              fdAfter);
  EXPECT_LE(fdAfter, fdBefore + kDescriptorSlack) << "the proxy kept descriptors";
  const long rssAfter = proxy.rssKb();
  std::printf("[   INFO   ] proxy RSS %ld kB at the baseline, %ld kB at the end (%+ld kB)\n",
              rssBefore, rssAfter, rssAfter - rssBefore);
  EXPECT_LT(rssAfter - rssBefore, kRssSlackKb) << "the proxy's memory grew";
}

INSTANTIATE_TEST_SUITE_P(Close, AbandonTest, ::testing::Values(Abandon::Fin, Abandon::Reset),
                         [](const auto& p) { return p.param == Abandon::Fin ? "Fin" : "Reset"; });

}  // namespace
}  // namespace ringlb::test
