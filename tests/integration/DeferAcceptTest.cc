// defer_accept (HAProxy's bind option defer-accept) against a real ringlb: the kernel hands a
// connection to the proxy only once the client has sent something, so a client that connects and
// stays silent costs the proxy no accept, no backend connection and no session. A silent client
// is only delayed (the kernel gives up waiting after about a second), and a reload changes the
// option on the listening socket it keeps.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>

#include "support/Client.h"
#include "support/Deadline.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

// How long a client stays silent before the test looks at the backend: well under the kernel's
// one second of waiting for data (its first SYN-ACK retransmission), well over a proxy's turn.
constexpr auto kSilence = 200ms;

// A client connects and sends nothing for kSilence: the backend must have seen no connection.
// Then it speaks and gets its echo.
void expectHeldUntilTheClientSpeaks(uint16_t proxyPort, TestBackend& backend) {
  const std::size_t before = backend.accepted();
  ConnectResult c = connectLocal(proxyPort);
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  std::this_thread::sleep_for(kSilence);
  EXPECT_EQ(backend.accepted(), before) << "the proxy connected to the backend for a silent client";
  ASSERT_TRUE(sendAll(c.fd.get(), "hello", Deadline(5s)));
  EXPECT_EQ(recvExact(c.fd.get(), 5, Deadline(5s)), "hello");
  EXPECT_EQ(backend.accepted(), before + 1);
}

// A client connects and stays silent: without defer_accept the proxy connects to the backend at
// once (its usual behaviour, and what shows the check above tells the two apart).
void expectForwardedWhileSilent(uint16_t proxyPort, TestBackend& backend) {
  const std::size_t before = backend.accepted();
  ConnectResult c = connectLocal(proxyPort);
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  EXPECT_TRUE(backend.waitAccepted(before + 1, Deadline(kSilence * 10)))
      << "no backend connection for a silent client without defer_accept";
}

// A proxy relaying to `backend` with defer_accept on.
ProxyConfig deferringTo(const TestBackend& backend) {
  ProxyConfig cfg = ProxyConfig::relayTo(backend.address(), "copy");
  cfg.frontends[0].deferAccept = true;
  return cfg;
}

TEST(DeferAcceptTest, SilentClientReachesNoBackendUntilItSpeaks) {
  TestBackend backend({.mode = BackendMode::Echo});
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(deferringTo(backend).toYaml()));
  expectHeldUntilTheClientSpeaks(proxy.port(), backend);
}

// A client that waits for the server to speak first (SMTP) is not shut out: the kernel stops
// waiting for data after about a second (its first SYN-ACK retransmission) and hands the
// connection over anyway. Held at first, through after that.
TEST(DeferAcceptTest, SilentClientIsOnlyDelayed) {
  TestBackend backend({.mode = BackendMode::Echo});
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(deferringTo(backend).toYaml()));
  const Clock::time_point start = Clock::now();
  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  std::this_thread::sleep_for(kSilence);
  EXPECT_EQ(backend.accepted(), 0u) << "not deferred at all";
  EXPECT_TRUE(backend.waitAccepted(1, Deadline(10s))) << "a silent client never reached the backend";
  EXPECT_GE(Clock::now() - start, 800ms) << "handed over before the kernel's one second";
}

TEST(DeferAcceptTest, OffByDefault) {
  TestBackend backend({.mode = BackendMode::Echo});
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(ProxyConfig::relayTo(backend.address(), "copy").toYaml()));
  expectForwardedWhileSilent(proxy.port(), backend);
}

// A reload sets and clears it on the listening socket it keeps.
TEST(DeferAcceptTest, ReloadChangesTheKeptListener) {
  TestBackend backend({.mode = BackendMode::Echo});
  ProxyConfig cfg = ProxyConfig::relayTo(backend.address(), "copy");
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  cfg.frontends[0].deferAccept = true;
  ASSERT_TRUE(proxy.reloadWith(cfg.toYaml()));
  expectHeldUntilTheClientSpeaks(proxy.port(), backend);
  cfg.frontends[0].deferAccept = false;
  ASSERT_TRUE(proxy.reloadWith(cfg.toYaml()));
  expectForwardedWhileSilent(proxy.port(), backend);
}

}  // namespace
}  // namespace ringlb::test
