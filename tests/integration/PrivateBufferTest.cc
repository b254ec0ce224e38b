// A direction whose receiver is slow gets a private buffer, so that it does not pin a shared
// one. That buffer is for the bytes in flight: once the receiver has caught up and the buffer
// is empty, it goes back. Memory follows the bytes in flight, not the connections that were
// slow once: an idle connection costs the same whatever its past.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support/Client.h"
#include "support/Descriptors.h"
#include "support/DuplexClient.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

constexpr int kConnections = 400;
constexpr std::uint64_t kSeed = 3;
constexpr std::uint64_t kLargeResponse = 256 * 1024;
constexpr std::uint64_t kSmallResponse = 16;
// A narrow client: a small receive buffer and a small MSS (which also keeps the proxy's send
// buffer towards it small). Together they hold a few tens of KiB, far less than kLargeResponse:
// when such a client does not read for a moment, the proxy's send to it comes up short, which
// is what makes the direction take a private buffer.
constexpr SocketTuning kNarrow{.receiveBuffer = 8 * 1024, .maxSegment = 536};

// Opens `n` narrow connections, `batch` at a time, each asking for a large response that it
// leaves unread for a moment before reading all of it. Returns the connections, open and idle.
// Batches keep the number of slow moments at any one time small: what is measured is what stays
// behind afterwards, not the peak.
std::vector<Fd> slowMomentConnections(std::uint16_t port, int n, int batch) {
  std::vector<Fd> kept;
  const std::string request = respondRequest(kLargeResponse);
  for (int done = 0; done < n; done += batch) {
    std::vector<int> fds;
    for (int i = 0; i < batch && done + i < n; ++i) {
      ConnectResult c = connectLocal(port, kNarrow);
      EXPECT_TRUE(c.fd) << std::strerror(c.error);
      if (!c.fd) return kept;
      EXPECT_TRUE(sendAll(c.fd.get(), request, Deadline(5s)));
      fds.push_back(c.fd.get());
      kept.push_back(std::move(c.fd));
    }
    // The slow moment: nobody reads. Once its response has started to arrive, each client's
    // narrow path fills within microseconds; 200 ms is plenty even on a loaded machine.
    for (int fd : fds) {
      EXPECT_TRUE(readableBefore(fd, Deadline(10s))) << "a response never started";
    }
    std::this_thread::sleep_for(200ms);
    // Far from the whole response may have reached a client (else no send came up short, and
    // the test would prove nothing).
    for (int fd : fds) {
      EXPECT_LT(queuedBytes(fd), static_cast<long>(kLargeResponse) / 2)
          << "the response fitted in the client's socket buffer: nothing was held back";
    }
    for (const DrainResult& r : drainEach(fds, Deadline(60s), kLargeResponse)) {
      EXPECT_EQ(r.bytes, kLargeResponse) << "a response did not arrive in full ("
                                         << toString(r.end) << ")";
      EXPECT_EQ(Sha256::hex(r.sha), Sha256::hex(patternSha(kSeed, kLargeResponse)));
    }
  }
  return kept;
}

// Opens `n` connections that each make one small round trip and stay open and idle.
std::vector<Fd> freshConnections(std::uint16_t port, int n) {
  std::vector<Fd> kept;
  const std::string request = respondRequest(kSmallResponse);
  for (int i = 0; i < n; ++i) {
    ConnectResult c = connectLocal(port);
    EXPECT_TRUE(c.fd) << std::strerror(c.error);
    if (!c.fd) return kept;
    EXPECT_TRUE(sendAll(c.fd.get(), request, Deadline(5s)));
    EXPECT_TRUE(recvExact(c.fd.get(), kSmallResponse, Deadline(5s)).has_value())
        << "no response";
    kept.push_back(std::move(c.fd));
  }
  return kept;
}

// 400 idle connections that each had a slow moment hold no more proxy memory (RSS) than 400
// idle connections that never had one, give or take 4 MB.
TEST(PrivateBufferTest, SlowMomentsDoNotLeaveMemoryBehind) {
  // Test side: a client and a backend socket per connection, in both phases, plus slack.
  ASSERT_TRUE(ensureOwnDescriptorLimit(4 * kConnections + 256))
      << "the test needs more descriptors than its hard limit allows";
  TestBackend backend({.mode = BackendMode::Respond, .seed = kSeed});
  ProxyConfig cfg = ProxyConfig::relayTo(backend.address(), "copy");
  cfg.workers = 1;
  // Few shared buffers: they all become resident during the warm-up, so the phases' growth is
  // the sessions' own memory, not the buffer ring being touched for the first time.
  cfg.buffers = 16;
  RingLbProcess proxy(RINGLB_BINARY);
  proxy.reuseFreedMemoryUnderAsan();  // a freed buffer must show as gone there too
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  // Warm-up, closed before the baseline: brings the worker's heap and every shared buffer
  // into residence, so neither counts against the first phase measured.
  {
    std::vector<Fd> warm = slowMomentConnections(proxy.port(), 8, 8);
    std::vector<Fd> fresh = freshConnections(proxy.port(), 8);
    ASSERT_FALSE(HasFailure());
  }
  std::this_thread::sleep_for(500ms);  // let the proxy close the warm-up sessions
  const long base = proxy.rssKb();
  ASSERT_GT(base, 0);

  std::vector<Fd> slow = slowMomentConnections(proxy.port(), kConnections, 20);
  ASSERT_EQ(slow.size(), static_cast<std::size_t>(kConnections));
  ASSERT_FALSE(HasFailure());
  std::this_thread::sleep_for(200ms);
  const long afterSlow = proxy.rssKb();

  std::vector<Fd> fresh = freshConnections(proxy.port(), kConnections);
  ASSERT_EQ(fresh.size(), static_cast<std::size_t>(kConnections));
  std::this_thread::sleep_for(200ms);
  const long afterFresh = proxy.rssKb();

  const long slowKb = afterSlow - base;
  const long freshKb = afterFresh - afterSlow;
  std::printf("[   INFO   ] proxy RSS growth: %d connections with a slow moment %.1f MB, "
              "%d fresh ones %.1f MB\n",
              kConnections, static_cast<double>(slowKb) / 1024, kConnections,
              static_cast<double>(freshKb) / 1024);
  EXPECT_LT(slowKb, freshKb + 4 * 1024)
      << "idle connections that were once slow hold " << (slowKb - freshKb) / 1024
      << " MB more than fresh ones: their private buffers were kept after they emptied";
}

}  // namespace
}  // namespace ringlb::test
