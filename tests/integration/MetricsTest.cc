// GET /metrics on a real ringlb: byte counters equal what crossed the sockets, exactly, once the
// connections closed, and move while a long transfer runs; states and close reasons show; the
// HAProxy names appear with compat: haproxy; scrapers that misbehave hurt neither the data path
// nor other scrapes.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <set>
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
  // Scrapes until `series` reaches at least `atLeast` (bounded): sessions and sends are counted
  // when the worker handles their completion, a moment after the client saw their effect.
  std::string scrapeUntil(const std::string& series, double atLeast) {
    std::string body;
    const Deadline deadline(10s);
    do {
      body = scrapeOk();
    } while (sample(body, series).value_or(0) < atLeast && !deadline.passed());
    return body;
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
  const std::string body = scrapeUntil("ringlb_sessions_closed_total{reason=\"completed\"}", 20);
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
    const double expected = static_cast<double>(chunk.size() * static_cast<std::size_t>(round));
    const std::string body = scrapeUntil("ringlb_frontend_bytes_out_total{frontend=\"web\"}", expected);
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

// After traffic, every HAProxy-compatible name carries the same value as its ringlb twin.
TEST_F(MetricsTest, CompatNamesEqualTheirTwins) {
  cfg_.metricsCompat = "haproxy";
  RingLbProcess proxy(RINGLB_BINARY);
  start(proxy);
  std::vector<ConnectResult> open;
  for (int i = 0; i < 6; ++i) {
    ConnectResult& c = open.emplace_back(connectLocal(proxy.port()));
    ASSERT_TRUE(c.fd);
    const std::string payload(5000 * static_cast<std::size_t>(i + 1), 'q');
    ASSERT_TRUE(sendAll(c.fd.get(), payload, Deadline(5s)));
    ASSERT_EQ(recvExact(c.fd.get(), payload.size(), Deadline(5s)), payload);
  }
  // Six sessions still open, each with its bytes counted.
  const std::string body = scrapeUntil("ringlb_frontend_bytes_out_total{frontend=\"web\"}", 105000);
  const std::vector<std::pair<std::string, std::string>> twins = {
      {"haproxy_frontend_current_sessions{proxy=\"web\"}", "ringlb_frontend_current_connections{frontend=\"web\"}"},
      {"haproxy_frontend_connections_total{proxy=\"web\"}", "ringlb_frontend_connections_total{frontend=\"web\"}"},
      {"haproxy_frontend_sessions_total{proxy=\"web\"}", "ringlb_frontend_sessions_total{frontend=\"web\"}"},
      {"haproxy_frontend_bytes_in_total{proxy=\"web\"}", "ringlb_frontend_bytes_in_total{frontend=\"web\"}"},
      {"haproxy_frontend_bytes_out_total{proxy=\"web\"}", "ringlb_frontend_bytes_out_total{frontend=\"web\"}"},
      {"haproxy_backend_current_sessions{proxy=\"app\"}", "ringlb_backend_current_connections{backend=\"app\"}"},
      {"haproxy_backend_active_servers{proxy=\"app\"}", "ringlb_backend_active_servers{backend=\"app\"}"},
      {"haproxy_server_current_sessions{proxy=\"app\",server=\"s1\"}", "ringlb_server_current_connections{backend=\"app\",server=\"s1\"}"},
      {"haproxy_server_sessions_total{proxy=\"app\",server=\"s2\"}", "ringlb_server_connections_total{backend=\"app\",server=\"s2\"}"},
      {"haproxy_server_bytes_in_total{proxy=\"app\",server=\"s1\"}", "ringlb_server_bytes_in_total{backend=\"app\",server=\"s1\"}"},
      {"haproxy_server_bytes_out_total{proxy=\"app\",server=\"s2\"}", "ringlb_server_bytes_out_total{backend=\"app\",server=\"s2\"}"},
      {"haproxy_server_weight{proxy=\"app\",server=\"s1\"}", "ringlb_server_weight{backend=\"app\",server=\"s1\"}"},
  };
  for (const auto& [theirs, ours] : twins) EXPECT_EQ(value(body, theirs), value(body, ours)) << theirs;
  EXPECT_EQ(value(body, "haproxy_frontend_current_sessions{proxy=\"web\"}"), 6);
  EXPECT_EQ(value(body, "haproxy_frontend_bytes_in_total{proxy=\"web\"}"), 105000);
}

// 50 scrapes at once, with garbage requests among them: every scrape gets a whole answer, and
// traffic flows throughout.
TEST_F(MetricsTest, FiftyConcurrentScrapesAndGarbage) {
  RingLbProcess proxy(RINGLB_BINARY);
  start(proxy);
  std::atomic<int> good{0};
  std::vector<std::thread> scrapers;
  for (int i = 0; i < 50; ++i) {
    scrapers.emplace_back([&, i] {
      if (i % 10 == 9) {  // garbage: a bogus request line, then leave
        ConnectResult c = connectLocal(port_);
        if (c.fd) sendAll(c.fd.get(), "\x16\x03\x01 not http at all\r\n\r\n", Deadline(2s));
        return;
      }
      const std::optional<std::string> body = scrape(port_, Deadline(60s));
      if (body && body->find("ringlb_workers 2") != std::string::npos) ++good;
    });
  }
  for (int i = 0; i < 20; ++i) {
    ConnectResult c = connectLocal(proxy.port());
    ASSERT_TRUE(c.fd);
    ASSERT_TRUE(sendAll(c.fd.get(), "ping", Deadline(5s)));
    ASSERT_EQ(recvExact(c.fd.get(), 4, Deadline(5s)), "ping") << "connection " << i;
  }
  for (std::thread& t : scrapers) t.join();
  EXPECT_EQ(good.load(), 45);
  EXPECT_TRUE(proxy.running());
}

// The shipped dashboard's queries name only families a live ringlb exports.
TEST_F(MetricsTest, DashboardNamesExistInALiveScrape) {
  RingLbProcess proxy(RINGLB_BINARY);
  start(proxy);
  ConnectResult c = connectLocal(proxy.port());  // so per-session families have samples
  ASSERT_TRUE(c.fd && sendAll(c.fd.get(), "x", Deadline(5s)) && recvExact(c.fd.get(), 1, Deadline(5s)) == "x");
  const std::string body = scrapeOk();
  std::ifstream file(std::string(RINGLB_SOURCE_DIR) + "/conf/grafana-dashboard.json");
  ASSERT_TRUE(file.good());
  std::ostringstream text;
  text << file.rdbuf();
  const std::string dashboard = text.str();
  // Every ringlb_ name the file mentions (a plain scan: std::regex trips GCC 12's
  // -Wmaybe-uninitialized inside libstdc++ in the sanitizer build).
  std::set<std::string> names;
  for (std::size_t at = dashboard.find("ringlb_"); at != std::string::npos;
       at = dashboard.find("ringlb_", at + 1)) {
    std::size_t end = at;
    while (end < dashboard.size() && ((dashboard[end] >= 'a' && dashboard[end] <= 'z') || dashboard[end] == '_')) {
      ++end;
    }
    std::string n = dashboard.substr(at, end - at);
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (n.ends_with(suffix)) n.resize(n.size() - std::string_view(suffix).size());
    }
    names.insert(n);
  }
  ASSERT_GT(names.size(), 10u);
  for (const std::string& n : names) {
    EXPECT_NE(body.find("# TYPE " + n + " "), std::string::npos) << n << " is not exported";
  }
}

}  // namespace
}  // namespace ringlb::test
