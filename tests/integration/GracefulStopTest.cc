// SIGTERM stops accepting at once, lets open connections finish within shutdown_grace, closes
// the rest when it expires, and exits 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "support/Client.h"
#include "support/DuplexClient.h"
#include "support/DuplexProtocol.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

// Probes until a connect to the port is refused (the listener is closed); closes any probe that
// still got through. True if refused before the deadline.
bool refusedBefore(std::uint16_t port, const Deadline& deadline) {
  while (!deadline.passed()) {
    ConnectResult c = connectLocal(port, 1s);
    if (!c.fd && c.error == ECONNREFUSED) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// With a trickling transfer in flight, SIGTERM: new connections are refused while the proxy is
// still running, the in-flight transfer completes intact in both directions, and then the
// process exits 0.
TEST(GracefulStopTest, InFlightTransferCompletesAndNewConnectionsAreRefused) {
  TestBackend backend({.mode = BackendMode::Duplex});
  ProxyConfig cfg;
  cfg.shutdownGrace = "30s";
  cfg.servers = {backend.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  const std::uint16_t port = proxy.port();

  // ~2 s of trickle: 40 chunks of 16 KB, 50 ms apart.
  const DuplexOptions options{.seed = 42, .sendBytes = 40 * 16 * 1024, .receiveBytes = 1 << 20,
                              .chunk = 16 * 1024, .pause = 50ms, .timeout = 30s};
  DuplexResult result;
  std::thread client([&] { result = runDuplex(port, options); });
  ASSERT_TRUE(backend.waitAccepted(1, Deadline(5s))) << "the transfer never reached the backend";
  std::this_thread::sleep_for(200ms);

  ASSERT_TRUE(proxy.signal(SIGTERM));
  EXPECT_TRUE(refusedBefore(port, Deadline(3s))) << "still accepting after SIGTERM";
  EXPECT_TRUE(proxy.running()) << "exited with a transfer still in flight";

  client.join();
  EXPECT_EQ(result.connectError, 0);
  EXPECT_TRUE(result.sendOk) << std::strerror(result.sendError);
  EXPECT_EQ(result.received.end, StreamEnd::Eof) << std::strerror(result.received.error);
  EXPECT_EQ(result.received.bytes, options.receiveBytes);
  auto rec = backend.waitSeed(options.seed, Deadline(10s));
  ASSERT_TRUE(rec.has_value()) << "the in-flight connection never finished at the backend";
  EXPECT_EQ(Sha256::hex(result.received.sha), Sha256::hex(rec->sentSha));
  EXPECT_EQ(rec->readEnd, StreamEnd::Eof);
  EXPECT_EQ(rec->bytesReceived, options.sendBytes);
  EXPECT_EQ(Sha256::hex(rec->receivedSha), Sha256::hex(result.sentSha));

  auto status = proxy.waitExit(10s);
  ASSERT_TRUE(status.has_value()) << "still running 10 s after its last connection finished";
  EXPECT_TRUE(status->ok()) << status->toString();
}

// With shutdown_grace 500ms and an idle connection held open, SIGTERM: the connection is left
// open for the grace (not cut at once), then closed by the proxy, and the process exits 0.
TEST(GracefulStopTest, GraceExpiryClosesIdleConnectionThenExitsZero) {
  TestBackend backend({.mode = BackendMode::Echo});
  ProxyConfig cfg;
  cfg.shutdownGrace = "500ms";
  cfg.servers = {backend.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  ASSERT_TRUE(sendAll(c.fd.get(), "idle", Deadline(5s)));
  ASSERT_EQ(recvExact(c.fd.get(), 4, Deadline(5s)), "idle");

  const auto signalled = Clock::now();
  ASSERT_TRUE(proxy.signal(SIGTERM));
  const ReadResult r = readUntilEnd(c.fd.get(), Deadline(5s));
  const auto closedAfter = Clock::now() - signalled;
  EXPECT_NE(r.end, StreamEnd::Timeout) << "the idle connection outlived the grace by seconds";
  // A lower bound only (a slow machine can only make it later): the proxy's grace timer starts
  // after our kill(), so the close cannot come before 500 ms of it unless the grace was ignored.
  EXPECT_GE(closedAfter, 450ms) << "the idle connection was closed before the grace expired";

  auto status = proxy.waitExit(5s);
  ASSERT_TRUE(status.has_value()) << "still running 5 s after the grace expired";
  EXPECT_TRUE(status->ok()) << status->toString();
}

}  // namespace
}  // namespace ringlb::test

namespace ringlb::test {
namespace {

// A second SIGTERM during a long grace stops at once: the open connection is reset (it was cut,
// so it must not look complete) and the process exits 0 long before the grace would end.
TEST(GracefulStopTest, SecondSignalStopsAtOnce) {
  TestBackend backend({.mode = BackendMode::Echo});
  ProxyConfig cfg;
  cfg.shutdownGrace = "60s";
  cfg.servers = {backend.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  ASSERT_TRUE(sendAll(c.fd.get(), "held", Deadline(5s)));
  ASSERT_EQ(recvExact(c.fd.get(), 4, Deadline(5s)), "held");

  ASSERT_TRUE(proxy.signal(SIGTERM));
  ASSERT_TRUE(proxy.waitForLog("stopping", Deadline(5s)));
  EXPECT_TRUE(proxy.running()) << "the first signal must leave the grace to the connection";
  ASSERT_TRUE(proxy.signal(SIGTERM));
  const ReadResult r = readUntilEnd(c.fd.get(), Deadline(10s));
  EXPECT_EQ(r.end, StreamEnd::Reset) << "a connection cut by the stop must see a reset";
  auto status = proxy.waitExit(10s);
  ASSERT_TRUE(status.has_value()) << "a second signal did not stop the process within 10 s "
                                     "of a 60 s grace";
  EXPECT_TRUE(status->ok()) << status->toString();
}

}  // namespace
}  // namespace ringlb::test
