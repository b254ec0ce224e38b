// A direction whose receiver is slow gets a private buffer, so that it does not pin a shared
// one. That buffer is for the bytes in flight: once the receiver has caught up and the buffer
// is empty, it goes back. Memory follows the bytes in flight, not the connections that were
// slow once: an idle connection costs the same whatever its past.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support/Client.h"
#include "support/Descriptors.h"
#include "support/DuplexClient.h"
#include "support/Pattern.h"
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

// Clients that send in small pieces to servers that stop reading: the proxy's standing receive
// (a multishot recv, where the kernel can cap it) keeps receiving while a direction sends, so
// this is where its bound shows. Each direction may hold at most one buffer's worth (32 KiB)
// whatever the client pushes; beyond that TCP flow control holds the client back. Uncapped, the
// proxy copied every piece it received into the direction's private memory (megabytes per
// connection within a second). When the servers read again, every byte arrives, in order.
// (On a kernel without the caps the proxy receives one piece at a time, and the same bound
// must hold.)
TEST(PrivateBufferTest, TricklingSendersIntoStalledServersHoldAtMostABufferEach) {
  constexpr int kClients = 8;
  constexpr std::size_t kPiece = 512;
  ASSERT_TRUE(ensureOwnDescriptorLimit(2 * kClients + 256));
  // The stalled servers: a listener whose connections are accepted and then not read, with a
  // small receive buffer (inherited by the accepted sockets) so that the path fills quickly
  // and the proxy's sends to them come up short.
  Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener);
  const int small = 4096;
  ASSERT_EQ(::setsockopt(listener.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 64), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string server = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  ProxyConfig cfg = ProxyConfig::relayTo(server, "copy");
  cfg.workers = 1;
  cfg.buffers = 16;  // all resident after the warm-up: growth is the directions' own memory
  RingLbProcess proxy(RINGLB_BINARY);
  proxy.reuseFreedMemoryUnderAsan();
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  std::vector<Fd> clients;
  std::vector<Fd> servers;
  const auto open = [&](int n) {
    for (int i = 0; i < n; ++i) {
      ConnectResult c = connectLocal(proxy.port());
      ASSERT_TRUE(c.fd) << std::strerror(c.error);
      const int one = 1;
      ::setsockopt(c.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::fcntl(c.fd.get(), F_SETFL, O_NONBLOCK);
      pollfd p{listener.get(), POLLIN, 0};
      ASSERT_EQ(::poll(&p, 1, 5000), 1) << "the proxy did not connect to the server";
      Fd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      ASSERT_TRUE(accepted);
      clients.push_back(std::move(c.fd));  // pairs only: clients[i] is relayed to servers[i]
      servers.push_back(std::move(accepted));
    }
  };
  // Writes pieces of each client's pattern for `time` (each as far as its socket takes them).
  // Returns how many clients ended blocked: their socket full, the path behind them too.
  std::vector<std::uint64_t> sent;
  const auto trickle = [&](std::chrono::milliseconds time) {
    sent.assign(clients.size(), 0);
    std::vector<bool> blocked(clients.size(), false);
    std::vector<std::uint8_t> piece(kPiece);
    const Deadline until(time);
    while (!until.passed()) {
      for (std::size_t i = 0; i < clients.size(); ++i) {
        for (int k = 0; k < 64; ++k) {
          Pattern(i + 1).fill(sent[i], piece);
          const ssize_t n = ::send(clients[i].get(), piece.data(), piece.size(), MSG_NOSIGNAL);
          blocked[i] = n < 0 && errno == EAGAIN;
          if (n <= 0) break;
          sent[i] += static_cast<std::uint64_t>(n);
        }
      }
    }
    return std::count(blocked.begin(), blocked.end(), true);
  };
  // Reads what server i received (all of it: the client has shut down) and compares it.
  const auto verify = [&](std::size_t i) {
    ::shutdown(clients[i].get(), SHUT_WR);
    std::vector<std::uint8_t> got(64 * 1024);
    std::vector<std::uint8_t> want(got.size());
    std::uint64_t offset = 0;
    const Deadline until(20s);
    for (;;) {
      pollfd p{servers[i].get(), POLLIN, 0};
      if (::poll(&p, 1, 1000) != 1 && until.passed()) break;
      const ssize_t n = ::recv(servers[i].get(), got.data(), got.size(), MSG_DONTWAIT);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EAGAIN && !until.passed()) continue;
        break;
      }
      Pattern(i + 1).fill(offset, std::span(want.data(), static_cast<std::size_t>(n)));
      ASSERT_TRUE(std::equal(got.begin(), got.begin() + n, want.begin()))
          << "connection " << i << ": bytes differ from offset " << offset;
      offset += static_cast<std::uint64_t>(n);
    }
    EXPECT_EQ(offset, sent[i]) << "connection " << i << ": not every byte arrived, or no EOF";
  };

  // Warm-up: every shared buffer resident, the private-buffer cache primed.
  ASSERT_NO_FATAL_FAILURE(open(2));
  trickle(300ms);
  for (std::size_t i = 0; i < clients.size(); ++i) verify(i);
  clients.clear();
  servers.clear();
  std::this_thread::sleep_for(300ms);
  const long base = proxy.rssKb();
  ASSERT_GT(base, 0);

  ASSERT_NO_FATAL_FAILURE(open(kClients));
  // Every client ends blocked: the proxy stopped taking its bytes (a proxy receiving without
  // bound would take them as fast as they come, and no client would block).
  EXPECT_EQ(trickle(3000ms), kClients) << "the proxy kept receiving from clients it cannot serve";
  std::this_thread::sleep_for(100ms);
  const long grown = proxy.rssKb() - base;
  const std::uint64_t least = *std::min_element(sent.begin(), sent.end());
  std::printf("[   INFO   ] %d stalled connections: proxy RSS growth %.2f MB; each client pushed "
              "%.2f MB or more into the path\n",
              kClients, static_cast<double>(grown) / 1024, static_cast<double>(least) / (1 << 20));
  EXPECT_GT(least, 4u * 32 * 1024) << "a client pushed too little for the test to mean anything";
  // One 32 KiB private buffer per client-to-server direction (the servers send nothing), plus
  // 1 MB for the heap's noise and ring pages first touched now. Uncapped, each client's
  // megabytes would be in the proxy.
  EXPECT_LT(grown, kClients * 32 + 1024) << "stalled connections hold more than a buffer each";
  for (std::size_t i = 0; i < clients.size(); ++i) verify(i);
}

}  // namespace
}  // namespace ringlb::test
