// Waiting for a receive buffer is ringlb's own doing, not the peers' idleness. With far more
// busy sessions than provided buffers, sessions take turns with the buffers; a session whose
// turn is slow to come must not be timed out for inactivity while its peers are ready and
// willing.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "support/Client.h"
#include "support/Descriptors.h"
#include "support/DuplexClient.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

// 300 clients downloading 2 MiB each at once through one worker with two 1 KiB buffers, under
// 2 s client and server timeouts: every download completes, intact, with an EOF.
// The clients that come last wait seconds for their first buffer while the first ones stream:
// the more clients and bytes, the longer. 300 x 2 MiB makes that wait well over 2 s here; a
// proxy that exempts buffer waits serves them all in well under the deadline. (With 1 s
// timeouts even such a proxy lost a few sessions when everything ran on one busy core.)
//
// DISABLED in CI, because its verdict depends on this test's own backend keeping up. The old
// relay fails it every run (sessions woken from the buffer line re-armed a recv, were no longer
// "waiting", and were closed at 2 s with a FIN). The current relay passes it 10 runs in 10 on a
// quiet machine, release build. On a loaded machine, or under ASan, the backend's 300 sending
// threads fall seconds behind: some sessions then time out because their server has not sent a
// byte in 2 s (instrumented: nothing readable on the server socket, both ring buffers free, no
// direction waiting), which is correct behaviour and not what this test is about. The waiting
// rules are unit-tested in both builds (RelayTest.cc). Run it by hand with
// --gtest_also_run_disabled_tests.
TEST(BufferWaitTest, DISABLED_WaitingForABufferIsNotIdleness) {
  constexpr int kClients = 300;
  constexpr std::uint64_t kBytes = 2ull << 20;
  constexpr std::uint64_t kSeed = 77;
  // Per connection: a client and a backend socket here; two sockets and a pipe in the proxy
  // (a child: it inherits this limit).
  ASSERT_TRUE(ensureOwnDescriptorLimit(4 * kClients + 256))
      << "the test needs more descriptors than its hard limit allows";
  TestBackend backend({.mode = BackendMode::Source, .bytes = kBytes, .seed = kSeed});
  ProxyConfig cfg = ProxyConfig::relayTo(backend.address(), "auto");
  cfg.workers = 1;
  cfg.buffers = 2;
  cfg.bufferSize = 1024;
  cfg.clientTimeout = "2s";
  cfg.serverTimeout = "2s";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  std::vector<Fd> clients;
  std::vector<int> fds;
  for (int i = 0; i < kClients; ++i) {
    ConnectResult c = connectLocal(proxy.port());
    ASSERT_TRUE(c.fd) << "client " << i << ": " << std::strerror(c.error);
    fds.push_back(c.fd.get());
    clients.push_back(std::move(c.fd));
  }
  const std::vector<DrainResult> results = drainEach(fds, Deadline(120s));

  const std::string expected = Sha256::hex(patternSha(kSeed, kBytes));
  int complete = 0;
  int empty = 0;
  std::map<std::string, int> ends;  // how the incomplete ones ended
  for (const DrainResult& r : results) {
    if (r.bytes == kBytes && r.end == StreamEnd::Eof && Sha256::hex(r.sha) == expected) {
      ++complete;
      continue;
    }
    empty += r.bytes == 0;
    ++ends[std::string(toString(r.end)) + (r.bytes == kBytes ? " (all bytes)" : "")];
  }
  std::string summary;
  for (const auto& [end, n] : ends) summary += " " + std::to_string(n) + " x " + end + ";";
  std::printf("[   INFO   ] %d of %d downloads complete; %d got nothing;%s\n", complete,
              kClients, empty, summary.c_str());
  EXPECT_EQ(complete, kClients)
      << (kClients - complete) << " well-behaved clients were not served in full (" << empty
      << " got nothing at all); the incomplete ones ended:" << summary;
}

}  // namespace
}  // namespace ringlb::test
