// GET /metrics on a real ringlb: byte counters equal what crossed the sockets, exactly, once the
// connections closed, and move while a long transfer runs; states and close reasons show; the
// HAProxy names appear with compat: haproxy; scrapers that misbehave hurt neither the data path
// nor other scrapes.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "support/AdminClient.h"
#include "support/Client.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/Scrape.h"
#include "support/TempDir.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.servers = {one_.address(), two_.address()};
    cfg_.balance = "roundrobin";
    cfg_.workers = 2;
    cfg_.metricsListen = "127.0.0.1:0";
    cfg_.adminSocket = dir_.path() + "/admin.sock";
  }
  // Starts the proxy and finds its metrics port.
  void start(RingLbProcess& proxy) {
    ASSERT_TRUE(proxy.start(cfg_.toYaml()));
    ASSERT_TRUE(proxy.waitForLog("metrics on http://", Deadline(5s))) << proxy.log();
    port_ = metricsPort(proxy.log());
    ASSERT_NE(port_, 0) << proxy.log();
  }
  std::string scrapeOk() {
    const std::optional<std::string> body = scrape(port_);
    EXPECT_TRUE(body.has_value()) << "scrape failed";
    return body.value_or("");
  }
  double value(const std::string& body, const std::string& series) {
    const std::optional<double> v = sample(body, series);
    EXPECT_TRUE(v.has_value()) << series << " missing from:\n" << body.substr(0, 4000);
    return v.value_or(-1);
  }

  TempDir dir_;
  TestBackend one_{{.mode = BackendMode::Echo}};
  TestBackend two_{{.mode = BackendMode::Echo}};
  ProxyConfig cfg_;
  std::uint16_t port_ = 0;
};

// 20 echo sessions of different sizes, closed: every byte counter equals the bytes sent and
// echoed, at the frontend, across the servers, and the session counts and close reasons agree.
TEST_F(MetricsTest, ByteAndSessionCountersAreExactAfterClose) {
  RingLbProcess proxy(RINGLB_BINARY);
  start(proxy);
  uint64_t sent = 0;
  for (int i = 0; i < 20; ++i) {
    ConnectResult c = connectLocal(proxy.port());
    ASSERT_TRUE(c.fd);
    const std::string payload(1000 + static_cast<std::size_t>(i) * 4093, static_cast<char>('a' + i));
    ASSERT_TRUE(sendAll(c.fd.get(), payload, Deadline(5s)));
    ASSERT_EQ(recvExact(c.fd.get(), payload.size(), Deadline(5s)), payload);
    ::shutdown(c.fd.get(), SHUT_WR);
    ASSERT_EQ(readUntilEnd(c.fd.get(), Deadline(5s)).end, StreamEnd::Eof);
    sent += payload.size();
  }
  // Sessions are counted when freed, a moment after the client saw EOF: wait for the last.
  std::string body;
  const Deadline settle(10s);
  do {
    body = scrapeOk();
  } while (sample(body, "ringlb_sessions_closed_total{reason=\"completed\"}").value_or(0) < 20 &&
           !settle.passed());
  EXPECT_EQ(value(body, "ringlb_frontend_bytes_in_total{frontend=\"web\"}"), static_cast<double>(sent));
  EXPECT_EQ(value(body, "ringlb_frontend_bytes_out_total{frontend=\"web\"}"), static_cast<double>(sent));
  const double s1In = value(body, "ringlb_server_bytes_in_total{backend=\"app\",server=\"s1\"}");
  const double s2In = value(body, "ringlb_server_bytes_in_total{backend=\"app\",server=\"s2\"}");
  const double s1Out = value(body, "ringlb_server_bytes_out_total{backend=\"app\",server=\"s1\"}");
  const double s2Out = value(body, "ringlb_server_bytes_out_total{backend=\"app\",server=\"s2\"}");
  EXPECT_EQ(s1In + s2In, static_cast<double>(sent));
  EXPECT_EQ(s1Out + s2Out, static_cast<double>(sent));
  EXPECT_GT(s1In, 0);
  EXPECT_GT(s2In, 0);
  EXPECT_EQ(value(body, "ringlb_frontend_connections_total{frontend=\"web\"}"), 20);
  EXPECT_EQ(value(body, "ringlb_frontend_sessions_total{frontend=\"web\"}"), 20);
  EXPECT_EQ(value(body, "ringlb_frontend_current_connections{frontend=\"web\"}"), 0);
  EXPECT_EQ(value(body, "ringlb_sessions_closed_total{reason=\"completed\"}"), 20);
  EXPECT_EQ(value(body, "ringlb_sessions_closed_total{reason=\"client_reset\"}"), 0);
  EXPECT_EQ(value(body, "ringlb_server_connections_total{backend=\"app\",server=\"s1\"}") +
                value(body, "ringlb_server_connections_total{backend=\"app\",server=\"s2\"}"),
            20);
  EXPECT_EQ(value(body, "ringlb_server_connect_time_seconds_count{backend=\"app\",server=\"s1\"}") +
                value(body, "ringlb_server_connect_time_seconds_count{backend=\"app\",server=\"s2\"}"),
            20);
  EXPECT_EQ(value(body, "ringlb_workers"), 2);
  EXPECT_EQ(value(body, "ringlb_backend_eligible_servers{backend=\"app\"}"), 2);
  EXPECT_EQ(value(body, "ringlb_server_state{backend=\"app\",server=\"s1\",state=\"up\"}"), 1);
  EXPECT_EQ(value(body, "ringlb_server_state{backend=\"app\",server=\"s1\",state=\"down\"}"), 0);
}

// A transfer that stays open: its bytes show in the counters while it runs, not only at close.
TEST_F(MetricsTest, LongTransferIsCountedWhileItRuns) {
  RingLbProcess proxy(RINGLB_BINARY);
  start(proxy);
  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd);
  const std::string chunk(256 * 1024, 'x');
  for (int round = 1; round <= 3; ++round) {
    ASSERT_TRUE(sendAll(c.fd.get(), chunk, Deadline(5s)));
    ASSERT_EQ(recvExact(c.fd.get(), chunk.size(), Deadline(5s)), chunk);
    // The worker counts a send when its completion is handled, a moment after the client may
    // have the bytes: poll briefly rather than race it.
    const double expected = static_cast<double>(chunk.size() * static_cast<std::size_t>(round));
    std::string body;
    const Deadline counted(10s);
    do {
      body = scrapeOk();
    } while (sample(body, "ringlb_frontend_bytes_out_total{frontend=\"web\"}").value_or(0) < expected &&
             !counted.passed());
    EXPECT_EQ(value(body, "ringlb_frontend_bytes_out_total{frontend=\"web\"}"), expected) << "round " << round;
    EXPECT_EQ(value(body, "ringlb_frontend_current_connections{frontend=\"web\"}"), 1);
  }
}

// Admin changes show in the state gauges; with compat: haproxy the HAProxy exporter's names
// appear beside ringlb's.
TEST_F(MetricsTest, StatesShowAndHAProxyNamesWithCompat) {
  cfg_.metricsCompat = "haproxy";
  RingLbProcess proxy(RINGLB_BINARY);
  start(proxy);
  ASSERT_EQ(adminCommand(cfg_.adminSocket, "set server app/s2 state draining").rfind("ok:", 0), 0u);
  const std::string body = scrapeOk();
  EXPECT_EQ(value(body, "ringlb_server_state{backend=\"app\",server=\"s2\",state=\"draining\"}"), 1);
  EXPECT_EQ(value(body, "ringlb_server_state{backend=\"app\",server=\"s2\",state=\"up\"}"), 0);
  EXPECT_EQ(value(body, "ringlb_server_transitions_total{backend=\"app\",server=\"s2\"}"), 1);
  EXPECT_EQ(value(body, "ringlb_backend_eligible_servers{backend=\"app\"}"), 1);
  EXPECT_EQ(value(body, "haproxy_server_status{proxy=\"app\",server=\"s2\",state=\"DRAIN\"}"), 1);
  EXPECT_EQ(value(body, "haproxy_server_status{proxy=\"app\",server=\"s1\",state=\"UP\"}"), 1);
  EXPECT_EQ(value(body, "haproxy_backend_active_servers{proxy=\"app\"}"), 1);
  EXPECT_EQ(value(body, "haproxy_process_nbthread"), 2);
}

// Scrapers that send garbage, send nothing, or connect and leave: the data path and a
// well-behaved scrape are served meanwhile.
TEST_F(MetricsTest, MisbehavingScrapersHurtNothing) {
  RingLbProcess proxy(RINGLB_BINARY);
  start(proxy);
  std::vector<ConnectResult> silent;
  for (int i = 0; i < 4; ++i) silent.push_back(connectLocal(port_));  // connect, say nothing
  {
    ConnectResult garbage = connectLocal(port_);
    ASSERT_TRUE(garbage.fd);
    std::string junk(64 * 1024, '\0');
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 + 7);
    sendAll(garbage.fd.get(), junk, Deadline(2s));  // the server may close on it mid-way
  }
  {
    ConnectResult leaver = connectLocal(port_);
    ASSERT_TRUE(leaver.fd);
    sendAll(leaver.fd.get(), "GET /metr", Deadline(2s));
  }
  for (int i = 0; i < 10; ++i) {
    ConnectResult c = connectLocal(proxy.port());
    ASSERT_TRUE(c.fd);
    ASSERT_TRUE(sendAll(c.fd.get(), "ping", Deadline(5s)));
    ASSERT_EQ(recvExact(c.fd.get(), 4, Deadline(5s)), "ping") << "connection " << i;
  }
  const std::optional<std::string> body = scrape(port_, Deadline(30s));
  ASSERT_TRUE(body.has_value()) << "a well-behaved scrape was not served";
  EXPECT_NE(body->find("ringlb_frontend_connections_total{frontend=\"web\"}"), std::string::npos);
  EXPECT_TRUE(proxy.running());
}

}  // namespace
}  // namespace ringlb::test
