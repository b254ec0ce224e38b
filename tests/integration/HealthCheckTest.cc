// Active health checks against real servers: a server that stops listening goes DOWN within
// fall x interval + timeout and gets no new connection afterwards (and no client connection
// fails once it is down); it comes back UP after `rise` successes; an HTTP check of a server
// answering 500 goes DOWN; a blackholed check target times out without holding up anything.
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include "support/AdminClient.h"
#include "support/Client.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TempDir.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

// The `show servers` line of app/NAME ("" if none).
std::string serverLine(const std::string& socket, const std::string& name) {
  const std::string all = adminCommand(socket, "show servers");
  const std::string prefix = "app/" + name + " ";
  const std::size_t at = all.find(prefix);
  if (at == std::string::npos) return "";
  return all.substr(at, all.find('\n', at) - at);
}

// Waits until app/NAME's line contains `text`; returns the last line seen.
std::string waitForServer(const std::string& socket, const std::string& name,
                          const std::string& text, const Deadline& deadline) {
  std::string line;
  while (!deadline.passed()) {
    line = serverLine(socket, name);
    if (line.find(text) != std::string::npos) return line;
    std::this_thread::sleep_for(20ms);
  }
  return line;
}

// A listening socket on 127.0.0.1:port (0: any) that never accepts: the kernel completes TCP
// handshakes into its backlog, which is all a tcp check asks.
Fd listenOn(std::uint16_t port, int backlog = 64) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(fd.get(), backlog) != 0) {
    return Fd();
  }
  return fd;
}

std::uint16_t portOf(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

// A one-thread HTTP server answering every request with `statusLine` and closing.
class HttpStub {
 public:
  explicit HttpStub(std::string statusLine) : status_(std::move(statusLine)), listener_(listenOn(0)) {
    port_ = portOf(listener_.get());
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpStub() {
    stop_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);  // wakes the accept
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    while (!stop_) {
      Fd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c) continue;
      char buf[2048];
      [[maybe_unused]] const ssize_t n = ::recv(c.get(), buf, sizeof buf, 0);  // the request
      const std::string reply = status_ + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      sendAll(c.get(), reply, Deadline(1s));
    }
  }
  std::string status_;
  Fd listener_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class HealthCheckTest : public ::testing::Test {
 protected:
  ProxyConfig config(const std::vector<std::string>& servers, const std::string& check) {
    ProxyConfig cfg;
    cfg.servers = servers;
    cfg.balance = "roundrobin";
    cfg.adminSocket = dir_.path() + "/admin.sock";
    cfg.healthCheck = check;
    return cfg;
  }
  TempDir dir_;
};

// s2 stops listening: within fall x interval + timeout it is DOWN, and from then on every client
// is served, by s1. When something listens on its port again it comes back UP after `rise`
// successful checks.
TEST_F(HealthCheckTest, DeadServerGoesDownGetsNothingAndComesBack) {
  TestBackend one({.mode = BackendMode::Echo});
  std::optional<TestBackend> two(std::in_place, BackendOptions{.mode = BackendMode::Echo});
  const std::uint16_t twoPort = two->port();
  ProxyConfig cfg = config({one.address(), two->address()},
                           "{ type: tcp, interval: 200ms, timeout: 100ms, rise: 2, fall: 2 }");
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  // Checks on start down (initial: down) and go up at the first success.
  EXPECT_NE(waitForServer(cfg.adminSocket, "s1", " UP ", Deadline(5s)).find(" UP "), std::string::npos);
  EXPECT_NE(waitForServer(cfg.adminSocket, "s2", " UP ", Deadline(5s)).find(" UP "), std::string::npos);

  two.reset();  // s2 stops listening: connections to it are refused
  const std::string down = waitForServer(cfg.adminSocket, "s2", " DOWN ", Deadline(10s));
  ASSERT_NE(down.find(" DOWN "), std::string::npos) << down;
  EXPECT_NE(down.find(" refused "), std::string::npos) << down;

  // Every client is served (by s1: s2 has nothing listening). s1's count may also include its
  // health checks' connections, hence at least.
  const std::size_t before = one.accepted();
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(served(proxy.port())) << "client " << i << " failed";
  EXPECT_GE(one.accepted(), before + 20);

  Fd back = listenOn(twoPort);  // something listens again (a tcp check only needs handshakes)
  ASSERT_TRUE(back) << "port " << twoPort << " was taken meanwhile";
  const std::string up = waitForServer(cfg.adminSocket, "s2", " UP ", Deadline(10s));
  EXPECT_NE(up.find(" UP "), std::string::npos) << up;
  EXPECT_NE(proxy.log().find("server app/s2 is now UP"), std::string::npos) << proxy.log();
}

// An HTTP check of a server answering 500 marks it DOWN (bad_status); one answering 200 is UP
// and takes every connection.
TEST_F(HealthCheckTest, HttpCheckOf500GoesDown) {
  HttpStub ok("HTTP/1.1 200 OK");
  HttpStub failing("HTTP/1.1 500 Internal Server Error");
  ProxyConfig cfg = config({ok.address(), failing.address()},
                           "{ type: http, interval: 200ms, timeout: 200ms, rise: 1, fall: 1, "
                           "http: { path: /healthz } }");
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  const std::string good = waitForServer(cfg.adminSocket, "s1", " UP ok ", Deadline(5s));
  EXPECT_NE(good.find(" UP ok "), std::string::npos) << good;
  const std::string bad = waitForServer(cfg.adminSocket, "s2", " bad_status ", Deadline(5s));
  EXPECT_NE(bad.find(" DOWN bad_status "), std::string::npos) << bad;
}

// A check target that never answers a SYN (its accept queue is full) times out; the other
// server's checks and the admin socket carry on meanwhile, and traffic goes to the healthy one.
TEST_F(HealthCheckTest, BlackholedTargetTimesOutWithoutDelayingOthers) {
  TestBackend one({.mode = BackendMode::Echo});
  // backlog 0 holds one connection; fill it so further SYNs are dropped.
  Fd hole = listenOn(0, 0);
  const std::uint16_t holePort = portOf(hole.get());
  std::vector<Fd> fillers;
  for (int i = 0; i < 3; ++i) {
    ConnectResult c = connectLocal(holePort, 300ms);
    if (c.fd) fillers.push_back(std::move(c.fd));
  }
  ProxyConfig cfg = config({one.address(), "127.0.0.1:" + std::to_string(holePort)},
                           "{ type: tcp, interval: 300ms, timeout: 300ms, rise: 1, fall: 1, initial: up }");
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  const std::string line = waitForServer(cfg.adminSocket, "s2", " timeout ", Deadline(10s));
  EXPECT_NE(line.find(" DOWN timeout "), std::string::npos) << line;
  // s1 was checked all along (its last check passed) and it serves.
  EXPECT_NE(serverLine(cfg.adminSocket, "s1").find(" UP ok "), std::string::npos);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(served(proxy.port()));
}

// on_marked_down: shutdown. The server's checks (on a separate check port) start failing while a
// client's connection to it is open: once the server is marked DOWN that connection is reset
// (not ended with a FIN, which would look complete). With `keep` it would stay open.
TEST_F(HealthCheckTest, MarkedDownWithShutdownResetsItsSessions) {
  TestBackend one({.mode = BackendMode::Echo});
  Fd checkPort = listenOn(0);
  ProxyConfig cfg = config({one.address()},
                           "{ type: tcp, interval: 200ms, timeout: 100ms, rise: 1, fall: 1, initial: up, port: " +
                               std::to_string(portOf(checkPort.get())) + " }");
  cfg.onMarkedDown = "shutdown";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  ASSERT_NE(waitForServer(cfg.adminSocket, "s1", " UP ok ", Deadline(5s)).find(" UP ok "), std::string::npos);
  ConnectResult open = connectLocal(proxy.port());
  ASSERT_TRUE(open.fd && sendAll(open.fd.get(), "ping", Deadline(5s)) &&
              recvExact(open.fd.get(), 4, Deadline(5s)) == "ping");

  checkPort.reset();  // the checks now fail (refused); the traffic port still works
  const ReadResult r = readUntilEnd(open.fd.get(), Deadline(10s));
  EXPECT_EQ(r.end, StreamEnd::Reset) << "the open session of a server marked down was not reset";
  EXPECT_NE(serverLine(cfg.adminSocket, "s1").find(" DOWN "), std::string::npos);
  EXPECT_TRUE(proxy.waitForLog("closed 1 sessions of a server (server_shutdown)", Deadline(5s))) << proxy.log();
}

// Passive checking: s1's checks pass (they go to a separate port that listens) but its traffic
// port refuses. After passive.consecutive_failures failed connects by the workers s1 is marked
// DOWN, before its next active check can bring it back; meanwhile every client is served,
// through failover to s2. (The first active check falls anywhere in the first interval, so it
// may pass right after the passive verdict: rise 2 keeps one passing check from undoing it
// within the test. With rise 1 the test failed when that check landed in its window, seen once
// under ASan: "now DOWN ... (passive check)" and "now UP ... check passed" in the same ms.)
TEST_F(HealthCheckTest, ConnectFailuresMarkAServerDownBeforeItsNextCheck) {
  TestBackend two({.mode = BackendMode::Echo});
  Fd checks = listenOn(0);
  std::uint16_t deadPort = 0;
  {
    Fd gone = listenOn(0);
    deadPort = portOf(gone.get());
  }  // closed: connects to deadPort are refused
  ProxyConfig cfg = config({"127.0.0.1:" + std::to_string(deadPort), two.address()},
                           "{ type: tcp, interval: 10s, timeout: 1s, rise: 2, fall: 2, initial: up, port: " +
                               std::to_string(portOf(checks.get())) + " }");
  cfg.retries = 1;
  RingLbProcess proxy(RINGLB_BINARY);
  // passive: { consecutive_failures: 3 } is the default (5) lowered for the test.
  std::string yaml = cfg.toYaml();
  yaml.replace(yaml.find("    health_check:"), 0, "    passive: { consecutive_failures: 3 }\n");
  ASSERT_TRUE(proxy.start(yaml));
  for (int i = 0; i < 12; ++i) EXPECT_TRUE(served(proxy.port())) << "client " << i;
  const std::string down = waitForServer(cfg.adminSocket, "s1", " DOWN ", Deadline(5s));
  EXPECT_NE(down.find(" DOWN "), std::string::npos) << down;
  EXPECT_TRUE(proxy.waitForLog("connects failed in a row (passive check)", Deadline(1s))) << proxy.log();
  // Down: new clients are served by s2. (That no connect to s1 is even tried is visible only in
  // the metrics, issue 10; the unit tests show picks skip ineligible servers.)
  const std::size_t before = two.accepted();
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(served(proxy.port()));
  EXPECT_EQ(two.accepted(), before + 10);
}

// slow_start: a server back from maintenance (and up again by its checks) starts with a small
// share of new connections, growing to its full weight over slow_start. Smooth round robin is
// deterministic for given weights, so the shares are exact up to the ramp's progress.
TEST_F(HealthCheckTest, SlowStartRampsAServerThatComesBack) {
  TestBackend one({.mode = BackendMode::Echo});
  TestBackend two({.mode = BackendMode::Echo});
  // Checks go to their own server (one that accepts, or its backlog would fill up), so the
  // backends count clients only.
  TestBackend checks({.mode = BackendMode::Echo});
  ProxyConfig cfg = config({one.address(), two.address()},
                           "{ type: tcp, interval: 100ms, timeout: 100ms, rise: 1, fall: 1, initial: up, port: " +
                               std::to_string(checks.port()) + " }");
  std::string yaml = cfg.toYaml();
  yaml.replace(yaml.find("    health_check:"), 0, "    slow_start: 3s\n");
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(yaml));
  ASSERT_EQ(adminCommand(cfg.adminSocket, "set server app/s2 state maintenance").rfind("ok:", 0), 0u);
  ASSERT_EQ(adminCommand(cfg.adminSocket, "set server app/s2 state active").rfind("ok:", 0), 0u);
  // Leaving maintenance it is DOWN until its next check passes; then the ramp starts.
  ASSERT_TRUE(proxy.waitForLog("server app/s2 slow start", Deadline(5s))) << proxy.log();

  auto shareOfTwo = [&](int n) {
    const std::size_t before = two.accepted();
    for (int i = 0; i < n; ++i) EXPECT_TRUE(served(proxy.port()));
    return double(two.accepted() - before) / n;
  };
  const double early = shareOfTwo(100);
  EXPECT_LT(early, 0.3) << "a server in slow start took a full share at once";
  ASSERT_TRUE(proxy.waitForLog("server app/s2 slow start done", Deadline(10s))) << proxy.log();
  const double late = shareOfTwo(100);
  EXPECT_GT(late, 0.4) << "the ramp did not reach the full weight";
  EXPECT_NE(serverLine(cfg.adminSocket, "s2").find(" 100"), std::string::npos);
}

}  // namespace
}  // namespace ringlb::test
