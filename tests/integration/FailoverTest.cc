// A server that refuses or doesn't answer is retried on the next ranked server; with no retry
// left the client is closed, never left hanging.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "support/BlackholeServer.h"
#include "support/Client.h"
#include "support/ClosedPort.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

// One client: connect through the proxy, send a line, expect it echoed.
::testing::AssertionResult echoes(std::uint16_t port, const std::string& text) {
  ConnectResult c = connectLocal(port);
  if (!c.fd) return ::testing::AssertionFailure() << "connect: " << std::strerror(c.error);
  if (!sendAll(c.fd.get(), text, Deadline(5s))) return ::testing::AssertionFailure() << "send";
  auto got = recvExact(c.fd.get(), text.size(), Deadline(5s));
  if (!got) return ::testing::AssertionFailure() << "no echo of '" << text << "' within 5 s";
  if (*got != text) return ::testing::AssertionFailure() << "echo '" << *got << "' != '" << text << "'";
  return ::testing::AssertionSuccess();
}

// With servers [refusing, good], roundrobin and one retry, every client is served: a refused
// connect moves on to the next server instead of failing the client.
TEST(FailoverTest, RefusedConnectIsRetriedOnNextServer) {
  ClosedPort refusing;
  TestBackend good({.mode = BackendMode::Echo});
  ProxyConfig cfg;
  cfg.retries = 1;
  cfg.servers = {refusing.address(), good.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(echoes(proxy.port(), "hello " + std::to_string(i))) << "client " << i;
  }
  EXPECT_EQ(good.accepted(), 20u);

  // The operator sees which server fails and why, but not once per connection: the warning is
  // rate-limited (one a second per worker): the burst above sends 10 connections to s1, and
  // they take well under a second, so a line per refusal (10) would show.
  const std::string log = proxy.log();
  const std::string line = "connect to server 's1' (" + refusing.address() + ") failed: " +
                           std::strerror(ECONNREFUSED);
  std::size_t lines = 0;
  for (auto at = log.find(line); at != std::string::npos; at = log.find(line, at + 1)) ++lines;
  EXPECT_GE(lines, 1u) << "no warning naming the refusing server:\n" << log;
  EXPECT_LT(lines, 5u) << "the connect-failure warning is not rate-limited:\n" << log;
}

// With a single server that never answers the SYN, connect 200ms and no retry, the proxy closes
// the client (EOF or reset) within a few seconds instead of holding it open.
TEST(FailoverTest, ConnectTimeoutWithoutRetryClosesClient) {
  BlackholeServer blackhole;
  ASSERT_TRUE(blackhole.ready()) << "could not fill the blackhole's accept queue";
  ProxyConfig cfg;
  cfg.connectTimeout = "200ms";
  cfg.retries = 0;
  cfg.servers = {blackhole.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  sendAll(c.fd.get(), "hello", Deadline(1s));  // may fail if already reset; that's fine
  const ReadResult r = readUntilEnd(c.fd.get(), Deadline(5s));
  EXPECT_NE(r.end, StreamEnd::Timeout) << "the client was still open 5 s after a 200 ms timeout";
  EXPECT_EQ(r.data, "");
}

// With servers [never answering, good], connect 200ms and one retry, every client is served.
TEST(FailoverTest, ConnectTimeoutIsRetriedOnNextServer) {
  BlackholeServer blackhole;
  ASSERT_TRUE(blackhole.ready()) << "could not fill the blackhole's accept queue";
  TestBackend good({.mode = BackendMode::Echo});
  ProxyConfig cfg;
  cfg.connectTimeout = "200ms";
  cfg.retries = 1;
  cfg.servers = {blackhole.address(), good.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(echoes(proxy.port(), "hello " + std::to_string(i))) << "client " << i;
  }
}

}  // namespace
}  // namespace ringlb::test
