// A backend that dies mid-transfer takes down only its own connections, each ending in a reset
// (never a clean EOF that would pass a truncated stream off as complete); the other backend's
// transfers complete intact, and the proxy goes on serving, its memory back near its baseline.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/Client.h"
#include "support/DuplexClient.h"
#include "support/DuplexProtocol.h"
#include "support/FaultTools.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"

namespace ringlb::test {
namespace {

struct Fetched {
  std::uint64_t seed = 0;
  int connectError = 0;
  int sendError = 0;
  DrainResult received;
};

// Asks a KillableBackend (through the proxy) for `length` bytes of Pattern(seed): sends the
// header and FIN, then reads the answer to its end.
Fetched fetch(std::uint16_t port, std::uint64_t seed, std::uint64_t length,
              Clock::duration timeout) {
  Fetched f;
  f.seed = seed;
  const Deadline deadline(timeout);
  ConnectResult c = connectLocal(port, 5s);
  if (!c.fd) {
    f.connectError = c.error;
    return f;
  }
  if (!sendAll(c.fd.get(), duplex::encode({seed, length}), deadline, &f.sendError)) return f;
  shutdownWrite(c.fd.get());
  f.received = drainUntilEnd(c.fd.get(), deadline);
  return f;
}

// A fetch that must arrive whole: every byte, intact, then EOF.
void expectWhole(const Fetched& f, std::uint64_t length, const std::string& who) {
  EXPECT_EQ(f.connectError, 0) << who << ": " << std::strerror(f.connectError);
  EXPECT_EQ(f.sendError, 0) << who << ": " << std::strerror(f.sendError);
  EXPECT_EQ(f.received.end, StreamEnd::Eof)
      << who << ": " << toString(f.received.end) << " after " << f.received.bytes << " bytes";
  EXPECT_EQ(f.received.bytes, length) << who;
  EXPECT_EQ(Sha256::hex(f.received.sha), Sha256::hex(patternSha(f.seed, f.received.bytes)))
      << who << ": the bytes that arrived are not the stream's";
}

// Runs functions on threads; joins them all when it goes away, also on an early return.
class Threads {
 public:
  ~Threads() { join(); }
  template <typename F>
  void run(F&& f) { threads_.emplace_back(std::forward<F>(f)); }
  void join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  std::vector<std::thread> threads_;
};

long rssGrowthKb(long before, long after, const char* when) {
  std::printf("[   INFO   ] proxy RSS %ld kB at the baseline, %ld kB %s (%+ld kB)\n", before, after,
              when, after - before);
  return after - before;
}

// RSS may end this close to its baseline: room for the allocator's own slack, far less than
// what the fault moved through the proxy.
constexpr long kRssSlackKb = 8 * 1024;

class BackendKilledTest : public ::testing::TestWithParam<std::string> {};

// Two backends (roundrobin) each streaming 8 MB to three clients; one is killed (every
// connection reset) after 1 MB of each stream, just as the other resumes: the killed backend's
// clients see an intact prefix and then a reset, the other's complete intact with EOF, new
// clients are still served (retries fail over from the dead server), and the proxy's RSS is
// back near its baseline.
TEST_P(BackendKilledTest, OtherBackendsClientsCompleteWhenOneBackendDies) {
  constexpr std::uint64_t kPauseAfter = 1 << 20;
  constexpr std::uint64_t kLength = 8 << 20;
  constexpr int kClients = 6;
  KillableBackend doomed(kPauseAfter);
  KillableBackend survivor(kPauseAfter);
  ASSERT_TRUE(doomed.port() != 0 && survivor.port() != 0);
  ProxyConfig cfg;
  cfg.useRelay(GetParam());
  cfg.balance = "roundrobin";
  cfg.retries = 1;
  // A small buffer pool, so that first touching it is not mistaken for growth in the RSS check.
  cfg.buffers = 64;
  cfg.servers = {doomed.address(), survivor.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  const std::uint16_t port = proxy.port();

  // Warm-up: a short stream through each server (shorter than the pause), then the baseline.
  for (std::uint64_t seed = 1; seed <= 2; ++seed) {
    expectWhole(fetch(port, seed, 256 * 1024, 30s), 256 * 1024, "warm-up " + std::to_string(seed));
  }
  ASSERT_FALSE(HasFailure()) << "not relaying even before the fault";
  const long rssBefore = proxy.rssKb();
  ASSERT_GT(rssBefore, 0);

  std::vector<Fetched> results(kClients);
  {
    Threads clients;
    for (int i = 0; i < kClients; ++i) {
      clients.run([&, i] { results[i] = fetch(port, 100 + i, kLength, 60s); });
    }
    // Whatever happens below, let every stream go on before the clients are joined.
    struct ResumeAll {
      KillableBackend& a;
      KillableBackend& b;
      ~ResumeAll() {
        a.resume();
        b.resume();
      }
    } resumeAll{doomed, survivor};

    const Deadline deadline(30s);
    while (doomed.paused() + survivor.paused() < kClients && !deadline.passed()) {
      std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(doomed.paused() + survivor.paused(), static_cast<std::size_t>(kClients))
        << "not every stream reached its first 1 MB";
    ASSERT_GE(doomed.paused(), 1u) << "roundrobin sent no stream to the first server";
    ASSERT_GE(survivor.paused(), 1u) << "roundrobin sent no stream to the second server";

    survivor.resume();
    doomed.kill();
    clients.join();
  }

  std::vector<std::uint64_t> doomedSeeds;
  for (const auto& s : doomed.streams()) doomedSeeds.push_back(s.seed);
  int cut = 0;
  for (const Fetched& f : results) {
    const std::string who = "client " + std::to_string(f.seed);
    if (std::find(doomedSeeds.begin(), doomedSeeds.end(), f.seed) == doomedSeeds.end()) {
      expectWhole(f, kLength, who + " (surviving backend)");
      continue;
    }
    ++cut;
    EXPECT_EQ(f.received.end, StreamEnd::Reset)
        << who << " (killed backend) must see a reset, not " << toString(f.received.end)
        << ", after " << f.received.bytes << " of " << kLength << " bytes";
    EXPECT_LE(f.received.bytes, kPauseAfter) << who << ": more than the backend sent";
    EXPECT_EQ(Sha256::hex(f.received.sha), Sha256::hex(patternSha(f.seed, f.received.bytes)))
        << who << ": what arrived before the reset is not a prefix of the stream";
  }
  EXPECT_EQ(cut, static_cast<int>(doomed.paused()));

  // New clients: those sent to the dead server fail over to the live one.
  for (std::uint64_t seed = 200; seed < 204; ++seed) {
    expectWhole(fetch(port, seed, 512 * 1024, 30s), 512 * 1024,
                "new client " + std::to_string(seed));
  }
  EXPECT_TRUE(survivor.waitAllFinished(Deadline(10s)))
      << "the surviving backend still has connections open";
  EXPECT_TRUE(proxy.running());
  EXPECT_LT(rssGrowthKb(rssBefore, proxy.rssKb(), "after the kill"), kRssSlackKb);
}

// A backend killed while the proxy holds bytes for a client that reads nothing yet (the stream is
// stopped by flow control): when the client reads, it gets an intact prefix, then a reset,
// never a clean EOF.
TEST_P(BackendKilledTest, StalledStreamEndsInResetWhenBackendDies) {
  constexpr std::uint64_t kLength = 64 << 20;  // far more than the buffers on the way hold
  constexpr std::uint64_t kSeed = 77;
  KillableBackend backend(kLength);            // never pauses: flow control stops it
  ASSERT_NE(backend.port(), 0);
  ProxyConfig cfg;
  cfg.useRelay(GetParam());
  cfg.servers = {backend.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  ASSERT_TRUE(sendAll(c.fd.get(), duplex::encode({kSeed, kLength}), Deadline(5s)));
  shutdownWrite(c.fd.get());

  // Wait until the backend is stopped by flow control: what it got through stops growing.
  const Deadline deadline(30s);
  std::uint64_t sent = 0;
  for (;;) {
    std::this_thread::sleep_for(300ms);
    const std::uint64_t now = backend.bytesSent();
    if (now > 0 && now == sent) break;
    sent = now;
    ASSERT_FALSE(deadline.passed()) << "the backend never stalled (" << now << " bytes sent)";
  }
  std::printf("[   INFO   ] the backend stalled after %.1f MB; killing it\n",
              static_cast<double>(sent) / (1 << 20));
  backend.kill();

  const DrainResult r = drainUntilEnd(c.fd.get(), Deadline(30s));
  std::printf("[   INFO   ] the client read %.1f MB, then %s\n",
              static_cast<double>(r.bytes) / (1 << 20), toString(r.end));
  EXPECT_EQ(r.end, StreamEnd::Reset)
      << "the backend died mid-stream: the client must see a reset, not " << toString(r.end)
      << ", after " << r.bytes << " of " << kLength << " bytes";
  EXPECT_LE(r.bytes, sent) << "more than the backend sent";
  EXPECT_EQ(Sha256::hex(r.sha), Sha256::hex(patternSha(kSeed, r.bytes)))
      << "what arrived before the reset is not a prefix of the stream";
  EXPECT_TRUE(proxy.running());
}

INSTANTIATE_TEST_SUITE_P(Relay, BackendKilledTest, ::testing::Values("copy", "splice", "copy_single"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace ringlb::test
