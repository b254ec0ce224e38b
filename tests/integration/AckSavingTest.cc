// The ACKs the proxy saves by letting data carry them (HAProxy's tcp-smart-connect and
// tcp-smart-accept), observed with TCP_INFO's tcpi_segs_in, which counts every segment a socket
// received, its handshake's included:
//   - tcp_smart_connect: on frontends with defer_accept (the request is then known to be
//     waiting), the server handshake's last ACK rides in the client's first bytes instead of
//     leaving alone, and a server that speaks first is not kept waiting for it. The server's
//     accepted socket, once it read the first bytes, has received 2 segments when the ACK came
//     with them (SYN, data) and 3 when it came alone (SYN, ACK, data).
//   - tcp_smart_accept: the proxy's ACK of the client's first bytes rides in the answer. The
//     client, once it read the answer, has received 2 segments (SYN-ACK, answer) instead of 3.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <linux/tcp.h>  // the kernel's tcp_info: glibc's stops before tcpi_segs_in
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/AdminClient.h"
#include "support/Client.h"
#include "support/ClosedPort.h"
#include "support/Deadline.h"
#include "support/Fd.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TempDir.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

// A bare listening socket on 127.0.0.1:0, accepted from the test's thread: the test reads the
// accepted sockets' TCP_INFO itself.
class RawServer {
 public:
  RawServer() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0 || ::listen(fd_.get(), 16) != 0 ||
        ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      ADD_FAILURE() << "raw server: " << std::strerror(errno);
      return;
    }
    port_ = ntohs(sa.sin_port);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // The next connection, or an invalid Fd once the deadline passed.
  Fd accept(const Deadline& deadline) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, deadline.pollMs()) != 1) return Fd();
    return Fd(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  }

 private:
  Fd fd_;
  uint16_t port_ = 0;
};

uint32_t segmentsIn(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
  return info.tcpi_segs_in;
}

// For each of `rounds` connections through the proxy on `proxyPort`: the client sends a request
// at once, then `measure(clientFd)` returns a segment count, or nullopt (having reported why) to
// stop there.
template <class Measure>
std::vector<uint32_t> countPerConnection(uint16_t proxyPort, int rounds, Measure measure) {
  std::vector<uint32_t> counts;
  for (int i = 0; i < rounds; ++i) {
    ConnectResult c = connectLocal(proxyPort);
    if (!c.fd) {
      ADD_FAILURE() << "connect: " << std::strerror(c.error);
      break;
    }
    if (!sendAll(c.fd.get(), "request", Deadline(5s))) {
      ADD_FAILURE() << "send to the proxy failed";
      break;
    }
    const std::optional<uint32_t> n = measure(c.fd.get());
    if (!n) break;
    counts.push_back(*n);
  }
  return counts;
}

// Five connections to `server`: its segments in (SYN included) once it has read the request.
std::vector<uint32_t> serverCounts(RawServer& server, uint16_t proxyPort) {
  return countPerConnection(proxyPort, 5, [&](int) -> std::optional<uint32_t> {
    Fd accepted = server.accept(Deadline(5s));
    if (!accepted) {
      ADD_FAILURE() << "the server saw no connection";
      return std::nullopt;
    }
    if (recvExact(accepted.get(), 7, Deadline(5s)) != "request") {
      ADD_FAILURE() << "the request did not arrive";
      return std::nullopt;
    }
    return segmentsIn(accepted.get());
  });
}

// Five connections to an echo server: the client's segments in (SYN-ACK included) once it has
// read the echo.
std::vector<uint32_t> clientCounts(uint16_t proxyPort) {
  return countPerConnection(proxyPort, 5, [](int client) -> std::optional<uint32_t> {
    if (recvExact(client, 7, Deadline(5s)) != "request") {
      ADD_FAILURE() << "no echo through the proxy";
      return std::nullopt;
    }
    return segmentsIn(client);
  });
}

// `counts(port)` through a ringlb started on `cfg`.
template <class Counts>
std::vector<uint32_t> throughProxy(const ProxyConfig& cfg, Counts counts) {
  RingLbProcess proxy(RINGLB_BINARY);
  if (const ::testing::AssertionResult started = proxy.start(cfg.toYaml()); !started) {
    ADD_FAILURE() << started.message();
    return {};
  }
  return counts(proxy.port());
}

std::string joined(const std::vector<uint32_t>& v) {
  std::string out;
  for (uint32_t x : v) out += std::to_string(x) + " ";
  return out;
}

// A client connects through the proxy and sends nothing; `server` greets it at once. Returns the
// time from the client's connect to its greeting, or nullopt (having reported why).
std::optional<Clock::duration> timeToBanner(RawServer& server, uint16_t proxyPort) {
  const Clock::time_point start = Clock::now();
  ConnectResult c = connectLocal(proxyPort);
  if (!c.fd) {
    ADD_FAILURE() << "connect: " << std::strerror(c.error);
    return std::nullopt;
  }
  Fd accepted = server.accept(Deadline(5s));
  if (!accepted) {
    ADD_FAILURE() << "the server never saw the connection";
    return std::nullopt;
  }
  if (!sendAll(accepted.get(), "220 ready\r\n", Deadline(5s)) ||
      recvExact(c.fd.get(), 11, Deadline(5s)) != "220 ready\r\n") {
    ADD_FAILURE() << "the greeting did not arrive";
    return std::nullopt;
  }
  const Clock::duration elapsed = Clock::now() - start;
  // The exchange goes on both ways afterwards.
  if (!sendAll(c.fd.get(), "HELO", Deadline(5s)) || recvExact(accepted.get(), 4, Deadline(5s)) != "HELO") {
    ADD_FAILURE() << "the client's answer did not arrive";
    return std::nullopt;
  }
  return elapsed;
}

long long ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// A server that speaks first (SMTP, MySQL) cannot accept() before the handshake's last ACK, and
// a client that waits for its greeting sends nothing to carry it: the proxy must send it alone
// after a turn, not leave it to the kernel's delayed-ACK timer (200 ms).
//
// With defer_accept such a client reaches the proxy only when the kernel stops deferring it
// (about 1 s), so the greeting's delay is compared with a proxy that never holds the ACK
// (`reference`), connection by connection alternately: the medians of three must differ by
// well under 200 ms; with the ACK left to the kernel's timer every one is 200 ms later.
void expectBannersPromptly(RawServer& server, uint16_t proxyPort, uint16_t referencePort) {
  std::vector<Clock::duration> held;
  std::vector<Clock::duration> reference;
  for (int i = 0; i < 3; ++i) {
    const std::optional<Clock::duration> h = timeToBanner(server, proxyPort);
    ASSERT_TRUE(h);
    held.push_back(*h);
    const std::optional<Clock::duration> r = timeToBanner(server, referencePort);
    ASSERT_TRUE(r);
    reference.push_back(*r);
  }
  std::sort(held.begin(), held.end());
  std::sort(reference.begin(), reference.end());
  EXPECT_LT(held[1] - reference[1], 100ms)
      << "median greeting after " << ms(held[1]) << " ms, " << ms(reference[1])
      << " ms without tcp_smart_connect";
}

// Each test states the options and what the server's segment counts must show.
class SmartConnectTest : public ::testing::TestWithParam<std::string> {
 protected:
  struct Options {
    bool smartConnect = false;  // tcp_smart_connect: true; false: not written (the default, off)
    bool deferAccept = false;   // defer_accept on the frontend
  };

  // serverCounts through a ringlb relaying with the test's parameter, with `options`: the
  // server's segments in per connection, the five of them (else a failure is reported).
  std::vector<uint32_t> serverCountsWith(Options options) {
    RawServer server;
    ProxyConfig cfg = ProxyConfig::relayTo(server.address(), GetParam());
    if (options.smartConnect) cfg.tcpSmartConnect = "true";
    cfg.frontends[0].deferAccept = options.deferAccept;
    std::vector<uint32_t> counts =
        throughProxy(cfg, [&](uint16_t port) { return serverCounts(server, port); });
    EXPECT_EQ(counts.size(), 5u) << "segments in per connection: " << joined(counts);
    return counts;
  }
};

// With tcp_smart_connect, on a frontend with defer_accept, the proxy's ACK of the server's
// SYN-ACK is held and sent with the client's request: the server receives two segments (SYN,
// request) instead of three. The request was waiting before the proxy even accepted, so no
// timing of the client's can make it miss; only a proxy stalled past the kernel's 200 ms
// delayed-ACK timer (a loaded CI machine) lets the kernel send one alone: 4 of 5 must show it.
TEST_P(SmartConnectTest, HandshakeAckRidesWithTheClientsFirstBytes) {
  const std::vector<uint32_t> counts = serverCountsWith({.smartConnect = true, .deferAccept = true});
  EXPECT_GE(std::count(counts.begin(), counts.end(), 2u), 4)
      << "segments in per connection: " << joined(counts);
}

// Without defer_accept the proxy cannot know the request is waiting, and holding the ACK on a
// guess keeps the server's side half-open (a burst of such connections fills the server's SYN
// queue and turns it to SYN cookies: see Connect.cc): the ACK leaves alone, on every connection.
TEST_P(SmartConnectTest, WithoutDeferAcceptTheAckIsNotHeld) {
  const std::vector<uint32_t> counts = serverCountsWith({.smartConnect = true, .deferAccept = false});
  EXPECT_EQ(std::count(counts.begin(), counts.end(), 3u), 5)
      << "segments in per connection: " << joined(counts);
}

// With tcp_smart_connect: false (the default) the ACK leaves alone, on every connection, even
// with defer_accept (and this shows the count above tells the two apart).
TEST_P(SmartConnectTest, OffByDefaultSendsTheHandshakeAckAlone) {
  const std::vector<uint32_t> counts = serverCountsWith({.smartConnect = false, .deferAccept = true});
  EXPECT_EQ(std::count(counts.begin(), counts.end(), 3u), 5)
      << "segments in per connection: " << joined(counts);
}

// A client that waits for the server's greeting, handed over by the kernel without a request
// once it stops deferring it: the held ACK goes alone after a turn (expectBannersPromptly).
TEST_P(SmartConnectTest, ServerThatSpeaksFirstIsNotKeptWaiting) {
  RawServer server;
  ProxyConfig cfg = ProxyConfig::relayTo(server.address(), GetParam());
  cfg.frontends[0].deferAccept = true;
  RingLbProcess reference(RINGLB_BINARY);
  ASSERT_TRUE(reference.start(cfg.toYaml()));
  cfg.tcpSmartConnect = "true";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  expectBannersPromptly(server, proxy.port(), reference.port());
}

// The same after failover: the connect that succeeds is the second attempt, on a new socket.
TEST(SmartConnectRetryTest, ServerThatSpeaksFirstAfterARefusedConnect) {
  ClosedPort refusing;
  RawServer server;
  ProxyConfig cfg;
  cfg.balance = "first";
  cfg.retries = 1;
  cfg.frontends[0].deferAccept = true;
  cfg.servers = {refusing.address(), server.address()};
  RingLbProcess reference(RINGLB_BINARY);
  ASSERT_TRUE(reference.start(cfg.toYaml()));
  cfg.tcpSmartConnect = "true";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  expectBannersPromptly(server, proxy.port(), reference.port());
}

INSTANTIATE_TEST_SUITE_P(Relay, SmartConnectTest, ::testing::Values("copy", "splice", "copy_single"),
                         [](const auto& p) { return p.param; });

class SmartAcceptTest : public ::testing::TestWithParam<std::string> {};

// With tcp_smart_accept the echo carries the proxy's ACK of the request. At least one exchange in
// five must show it: an echo slower than the delayed-ACK timer (40 ms) rightly gets the ACK first.
TEST_P(SmartAcceptTest, RequestAckRidesWithTheAnswer) {
  TestBackend backend({.mode = BackendMode::Echo});
  ProxyConfig cfg = ProxyConfig::relayTo(backend.address(), GetParam());
  cfg.frontends[0].tcpSmartAccept = true;
  const std::vector<uint32_t> counts = throughProxy(cfg, &clientCounts);
  ASSERT_EQ(counts.size(), 5u);
  EXPECT_GE(std::count(counts.begin(), counts.end(), 2u), 1)
      << "segments in per connection: " << joined(counts);
}

// Off by default (as in HAProxy's TCP mode): the request is acknowledged at once, alone.
TEST_P(SmartAcceptTest, OffByDefaultAcknowledgesTheRequestAlone) {
  TestBackend backend({.mode = BackendMode::Echo});
  const std::vector<uint32_t> counts =
      throughProxy(ProxyConfig::relayTo(backend.address(), GetParam()), &clientCounts);
  ASSERT_EQ(counts.size(), 5u);
  EXPECT_EQ(std::count(counts.begin(), counts.end(), 3u), 5)
      << "segments in per connection: " << joined(counts);
}

INSTANTIATE_TEST_SUITE_P(Relay, SmartAcceptTest, ::testing::Values("copy", "splice"),
                         [](const auto& p) { return p.param; });

// A reload changes tcp_smart_connect for the connections that follow: off, then on again.
TEST(SmartConnectReloadTest, ReloadChangesItForNewConnections) {
  RawServer server;
  ProxyConfig cfg = ProxyConfig::relayTo(server.address(), "copy");
  cfg.tcpSmartConnect = "true";
  cfg.frontends[0].deferAccept = true;
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  cfg.tcpSmartConnect = "false";
  // "done" is logged once every worker uses the new snapshot: no wait after it.
  ASSERT_TRUE(proxy.reloadWith(cfg.toYaml()));
  std::vector<uint32_t> counts = serverCounts(server, proxy.port());
  EXPECT_EQ(std::count(counts.begin(), counts.end(), 3u), 5) << "after turning it off: " << joined(counts);
  cfg.tcpSmartConnect = "true";
  ASSERT_TRUE(proxy.reloadWith(cfg.toYaml()));
  counts = serverCounts(server, proxy.port());
  EXPECT_GE(std::count(counts.begin(), counts.end(), 2u), 4) << "after turning it on: " << joined(counts);
}

// tcp_smart_connect on a backend whose frontend does not defer accept does nothing: the operator
// is told so at start and by every reload that loads it so (in the log, and in the admin socket's
// reply after the changes, marked "warning: "), and not once defer_accept is set.
TEST(SmartConnectWarningTest, StartAndReloadSayWhereItHasNoEffect) {
  TempDir dir;
  RawServer server;
  ProxyConfig cfg = ProxyConfig::relayTo(server.address(), "copy");
  cfg.tcpSmartConnect = "true";
  cfg.adminSocket = dir.path() + "/admin.sock";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  const std::string warning = "tcp_smart_connect: no effect on connections from frontend 'web'";
  EXPECT_EQ(proxy.countInLog(warning), 1u) << proxy.log();
  cfg.frontends[0].deferAccept = true;
  ASSERT_TRUE(proxy.reloadWith(cfg.toYaml()));
  EXPECT_EQ(proxy.countInLog(warning), 1u) << proxy.log();
  cfg.frontends[0].deferAccept = false;
  ASSERT_TRUE(proxy.rewriteConfig(cfg.toYaml()));
  const std::string reply = adminCommand(cfg.adminSocket, "reload");
  EXPECT_EQ(reply.rfind("ok: configuration reloaded\n  ", 0), 0u) << reply;
  const std::size_t at = reply.find("\n  warning: " + proxy.configPath() + ": backends[0]." + warning);
  EXPECT_NE(at, std::string::npos) << reply;
  EXPECT_EQ(reply.find('\n', at + 1), reply.size() - 1) << "the warning is not the last line:\n" << reply;
  EXPECT_EQ(proxy.countInLog(warning), 2u) << proxy.log();
}

// A reload keeps the listening socket and changes its option: on, then off again.
TEST(SmartAcceptReloadTest, ReloadChangesTheKeptListener) {
  TestBackend backend({.mode = BackendMode::Echo});
  ProxyConfig cfg = ProxyConfig::relayTo(backend.address(), "copy");
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  const uint16_t port = proxy.port();
  cfg.frontends[0].tcpSmartAccept = true;
  ASSERT_TRUE(proxy.reloadWith(cfg.toYaml()));
  std::vector<uint32_t> counts = clientCounts(port);
  EXPECT_GE(std::count(counts.begin(), counts.end(), 2u), 1) << "after turning it on: " << joined(counts);
  cfg.frontends[0].tcpSmartAccept = false;
  ASSERT_TRUE(proxy.reloadWith(cfg.toYaml()));
  counts = clientCounts(port);
  EXPECT_EQ(std::count(counts.begin(), counts.end(), 3u), 5) << "after turning it off: " << joined(counts);
}

// A binary upgrade hands the listening sockets over with the old process's option on them; the
// new process sets its own once they are its: off to on, then on to off.
TEST(SmartAcceptUpgradeTest, TheNewProcessSetsItsOptionOnTheSocketsItTakesOver) {
  TempDir dir;
  TestBackend backend({.mode = BackendMode::Echo});
  ProxyConfig cfg = ProxyConfig::relayTo(backend.address(), "copy");
  cfg.adminSocket = dir.path() + "/admin.sock";
  auto first = std::make_unique<RingLbProcess>(RINGLB_BINARY);
  ASSERT_TRUE(first->start(cfg.toYaml()));
  const uint16_t port = first->port();
  // Each upgrade: the new process starts from the old one's sockets, the old one exits.
  const auto upgrade = [&](std::unique_ptr<RingLbProcess>& current, bool smartAccept) {
    cfg.frontends[0].tcpSmartAccept = smartAccept;
    auto next = std::make_unique<RingLbProcess>(RINGLB_BINARY);
    next->addArguments({"--upgrade-from", cfg.adminSocket});
    ASSERT_TRUE(next->start(cfg.toYaml()));
    ASSERT_EQ(next->port(), port);
    const auto exit = current->waitExit(20s);
    ASSERT_TRUE(exit) << "the old process did not exit";
    EXPECT_TRUE(exit->ok()) << exit->toString();
    current = std::move(next);
  };
  upgrade(first, true);
  if (HasFatalFailure()) return;
  std::vector<uint32_t> counts = clientCounts(port);
  EXPECT_GE(std::count(counts.begin(), counts.end(), 2u), 1) << "after an upgrade to on: " << joined(counts);
  upgrade(first, false);
  if (HasFatalFailure()) return;
  counts = clientCounts(port);
  EXPECT_EQ(std::count(counts.begin(), counts.end(), 3u), 5) << "after an upgrade to off: " << joined(counts);
}

}  // namespace
}  // namespace ringlb::test
