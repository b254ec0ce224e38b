// Pipes kept for reuse by splice cost two descriptors each. Under a descriptor limit, pipes
// left idle by a burst of bulk transfers must not keep taking the descriptors that later
// sessions need: the pool is a cache, never a reason to turn clients away.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support/Client.h"
#include "support/Descriptors.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

constexpr rlim_t kLimit = 256;
constexpr std::uint64_t kBulk = 1ull << 20;
constexpr std::uint64_t kSmall = 4;

// Connects `n` clients at once, sends each `request`, and reads `want` bytes from each under one
// deadline. Returns how many got all `want` bytes; the connections stay open in `kept`.
int servedAtOnce(std::uint16_t port, int n, const std::string& request, std::uint64_t want,
                 const Deadline& deadline, std::vector<Fd>& kept) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    // The kernel completes the handshake from the backlog even while ringlb is not accepting.
    ConnectResult c = connectLocal(port);
    EXPECT_TRUE(c.fd) << std::strerror(c.error);
    if (!c.fd) break;
    EXPECT_TRUE(sendAll(c.fd.get(), request, Deadline(5s)));
    fds.push_back(c.fd.get());
    kept.push_back(std::move(c.fd));
  }
  int served = 0;
  for (const DrainResult& r : drainEach(fds, deadline, want)) served += r.bytes == want;
  return served;
}

// Under a 256-descriptor limit, after a burst of 100 spliced 1 MiB transfers has come and gone,
// ringlb still serves as many idle connections at once as the limit allows (2 descriptors per
// session, less its own overhead), save a small allowance for pipes it may keep.
TEST(PipePoolDescriptorTest, SplicedBurstDoesNotPinDescriptors) {
  TestBackend backend({.mode = BackendMode::Respond, .seed = 9});
  // auto: the bulk transfers splice (after a few full buffers), the small round trips copy and
  // hold no pipe, so the capacity measured afterwards is the sessions' descriptors alone.
  ProxyConfig cfg = ProxyConfig::relayTo(backend.address(), "auto");
  cfg.workers = 1;
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  ASSERT_TRUE(setDescriptorLimit(proxy.pid(), kLimit)) << std::strerror(errno);
  const long baseline = openDescriptorCount(proxy.pid());
  ASSERT_GT(baseline, 0);
  // What a proxy that keeps no pipes can serve (ringlb reserves 8 descriptors of headroom
  // beyond those open at start-up), less 24 sessions: room for 24 pooled pipes.
  const long affordable = (static_cast<long>(kLimit) - baseline - 8) / 2;
  const int wanted = static_cast<int>(affordable) - 24;
  ASSERT_GT(wanted, 50) << "ringlb opens too many descriptors of its own for this test";

  // The burst: two waves of 50 concurrent transfers; 50 sessions with a pipe each fit the limit.
  for (int wave = 0; wave < 2; ++wave) {
    std::vector<Fd> bulk;
    const int served =
        servedAtOnce(proxy.port(), 50, respondRequest(kBulk), kBulk, Deadline(60s), bulk);
    ASSERT_EQ(served, 50) << "wave " << wave << " of the burst was not served in full";
  }
  // The burst's sessions close once their clients and the backend have gone.
  const Deadline settle(10s);
  while (!settle.passed() && openDescriptorCount(proxy.pid()) > baseline + 2 * 50 + 4) {
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(500ms);
  const long afterBurst = openDescriptorCount(proxy.pid());

  std::vector<Fd> idle;
  const int served =
      servedAtOnce(proxy.port(), wanted, respondRequest(kSmall), kSmall, Deadline(15s), idle);
  std::printf("[   INFO   ] limit %d: %ld descriptors open at start, %ld after the burst; "
              "%d of %d idle connections served (a pipe-free proxy affords %ld)\n",
              static_cast<int>(kLimit), baseline, afterBurst, served, wanted, affordable);
  EXPECT_EQ(served, wanted) << "after the burst, ringlb held " << (afterBurst - baseline)
                            << " more descriptors than at start and could serve only "
                            << served << " connections";
}

}  // namespace
}  // namespace ringlb::test
