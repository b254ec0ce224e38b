// Reloading the configuration in place (SIGHUP, `ringlb ctl reload`) against a real ringlb:
// twenty reloads under load lose and corrupt nothing and each change shows in where new
// connections go; an invalid file changes nothing and says why; a removed server's connection
// runs to its end; a kept server keeps its health and admin state.
#include <signal.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/AdminClient.h"
#include "support/Client.h"
#include "support/ClosedPort.h"
#include "support/EchoLoad.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/Scrape.h"
#include "support/Subprocess.h"
#include "support/TempDir.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

CommandResult ctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{RINGLB_BINARY, "ctl"};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv);
}

class ReloadTest : public ::testing::Test {
 protected:
  TempDir dir_;
  TestBackend s1_{{.mode = BackendMode::Echo}};
  TestBackend s2_{{.mode = BackendMode::Echo}};
  TestBackend s3_{{.mode = BackendMode::Echo}};
};

// One step of the reload cycle: a configuration and where its new connections may go.
struct Step {
  std::string change;
  ProxyConfig config;
  std::set<int> expected;  // backends (1..3) that get new connections; the others get none
  bool extraFrontend = false;
};

// 8 client threads keep moving checksummed data through frontend `web` while the test sends 20
// SIGHUPs, cycling through: server added, server removed, weight changed, frontend added (placed
// first, so every frontend index shifts), frontend removed, balance algorithm changed. Zero
// failed connections, zero corrupted bytes, and after each reload new connections go exactly
// where the new configuration sends them.
TEST_F(ReloadTest, TwentyReloadsUnderLoadLoseNothing) {
  auto base = [&] {
    ProxyConfig c;
    c.workers = 2;
    c.balance = "roundrobin";
    c.frontends = {FrontendSpec{"web", "127.0.0.1:0", 0}};
    return c;
  };
  std::vector<Step> cycle;
  {
    Step s{"two servers", base(), {1, 2}};
    s.config.servers = {s1_.address(), s2_.address()};
    s.config.serverNames = {"s1", "s2"};
    cycle.push_back(s);
  }
  {
    Step s{"server s3 added", base(), {1, 2, 3}};
    s.config.servers = {s1_.address(), s2_.address(), s3_.address()};
    s.config.serverNames = {"s1", "s2", "s3"};
    cycle.push_back(s);
  }
  {
    Step s{"server s2 removed", base(), {1, 3}};
    s.config.servers = {s1_.address(), s3_.address()};
    s.config.serverNames = {"s1", "s3"};
    cycle.push_back(s);
  }
  {
    Step s{"s1 weight 0", base(), {3}};
    s.config.servers = {s1_.address(), s3_.address()};
    s.config.serverNames = {"s1", "s3"};
    s.config.serverWeights = {0, 100};
    cycle.push_back(s);
  }
  {
    Step s{"frontend extra added first", base(), {1, 3}, true};
    s.config.frontends = {FrontendSpec{"extra", "127.0.0.2:0", 0}, FrontendSpec{"web", "127.0.0.1:0", 0}};
    s.config.servers = {s1_.address(), s3_.address()};
    s.config.serverNames = {"s1", "s3"};
    cycle.push_back(s);
  }
  {
    Step s{"frontend extra removed", base(), {1, 3}};
    s.config.servers = {s1_.address(), s3_.address()};
    s.config.serverNames = {"s1", "s3"};
    cycle.push_back(s);
  }
  {
    Step s{"balance first over three", base(), {1}};
    s.config.balance = "first";
    s.config.servers = {s1_.address(), s2_.address(), s3_.address()};
    s.config.serverNames = {"s1", "s2", "s3"};
    cycle.push_back(s);
  }

  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cycle[0].config.toYaml()));
  const std::uint16_t web = proxy.port("web");
  EchoLoad load(web, 8);
  TestBackend* backends[] = {&s1_, &s2_, &s3_};
  std::uint16_t extraPort = 0;

  for (int reload = 1; reload <= 20; ++reload) {
    const Step& step = cycle[static_cast<std::size_t>(reload) % cycle.size()];
    SCOPED_TRACE("reload " + std::to_string(reload) + ": " + step.change);
    ASSERT_TRUE(proxy.reloadWith(step.config.toYaml()));
    // "done": every worker's new connections get the new configuration. The load's
    // connections accepted before it and still connecting land where the old one sent them.
    std::this_thread::sleep_for(100ms);
    std::size_t before[3];
    for (int b = 0; b < 3; ++b) before[b] = backends[b]->accepted();
    for (int i = 0; i < 12; ++i) ASSERT_TRUE(served(web)) << "probe " << i;
    if (step.extraFrontend) {
      extraPort = proxy.waitForListener("extra", Deadline(5s));
      ASSERT_NE(extraPort, 0);
      ConnectResult c = connectTcp(*net::Address::parse("127.0.0.2:" + std::to_string(extraPort), nullptr), 5s);
      ASSERT_TRUE(c.fd && echoes(c.fd.get(), "extra")) << "the added frontend serves";
    } else if (extraPort != 0) {
      // Removed: its sockets are closed once their queues are empty, so a connect is refused.
      ConnectResult c = connectTcp(*net::Address::parse("127.0.0.2:" + std::to_string(extraPort), nullptr), 5s);
      EXPECT_FALSE(c.fd) << "the removed frontend still accepts";
      extraPort = 0;
    }
    std::this_thread::sleep_for(100ms);
    for (int b = 0; b < 3; ++b) {
      const std::size_t now = backends[b]->accepted();
      if (step.expected.count(b + 1) != 0) {
        EXPECT_GT(now, before[b]) << "s" << b + 1 << " got no new connection";
      } else {
        EXPECT_EQ(now, before[b]) << "s" << b + 1 << " got new connections";
      }
    }
  }
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << "first failure: " << load.firstFailure();
  EXPECT_GT(load.ok(), 100u);
  EXPECT_EQ(proxy.countInLog("reload of " + proxy.configPath() + " done"), 20u);
  EXPECT_EQ(proxy.countInLog("reload of " + proxy.configPath() + " failed"), 0u);
}

// An invalid file changes nothing: the process keeps serving the old configuration, and the
// errors (with their paths and lines) are in the log, in the metrics and in `ctl reload`'s
// output, whose exit status is 1. A fixed file then reloads with status 0.
TEST_F(ReloadTest, InvalidFileKeepsTheRunningConfiguration) {
  ProxyConfig cfg;
  cfg.servers = {s1_.address()};
  cfg.adminSocket = dir_.path() + "/admin.sock";
  cfg.metricsListen = "127.0.0.1:0";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  ASSERT_TRUE(served(proxy.port()));

  std::string broken = cfg.toYaml();
  broken += "bogus_key: 1\n";
  const std::size_t at = broken.find("address:");
  ASSERT_NE(at, std::string::npos);
  broken.insert(at, "weight: 5000, ");
  ASSERT_TRUE(proxy.rewriteConfig(broken));
  ASSERT_TRUE(proxy.sighupAndWait("failed"));
  const std::string log = proxy.log();
  EXPECT_NE(log.find("bogus_key: unknown key (line"), std::string::npos) << log;
  EXPECT_NE(log.find("backends[0].servers[0].weight"), std::string::npos) << log;
  EXPECT_TRUE(served(proxy.port())) << "the old configuration stopped serving";

  const CommandResult failed = ctl({"--socket", cfg.adminSocket, "reload"});
  ASSERT_TRUE(failed.status);
  EXPECT_EQ(failed.status->code, 1) << failed.out << failed.err;
  EXPECT_EQ(failed.out.rfind("error: reload failed", 0), 0u) << failed.out;
  EXPECT_NE(failed.out.find("bogus_key: unknown key"), std::string::npos) << failed.out;

  const std::optional<std::string> body = scrape(metricsPort(proxy.log()));
  ASSERT_TRUE(body);
  EXPECT_EQ(sample(*body, R"(ringlb_config_reloads_total{result="failed"})"), 2.0) << *body;
  EXPECT_EQ(sample(*body, R"(ringlb_config_reloads_total{result="ok"})"), 0.0) << *body;
  EXPECT_EQ(sample(*body, "ringlb_config_last_reload_success"), 0.0) << *body;

  ASSERT_TRUE(proxy.rewriteConfig(cfg.toYaml() + "# fixed\n"));
  const CommandResult ok = ctl({"--socket", cfg.adminSocket, "reload"});
  ASSERT_TRUE(ok.status);
  EXPECT_EQ(ok.status->code, 0) << ok.out << ok.err;
  EXPECT_EQ(ok.out.rfind("ok: configuration reloaded", 0), 0u) << ok.out;
  EXPECT_TRUE(served(proxy.port()));
  const std::optional<std::string> after = scrape(metricsPort(proxy.log()));
  ASSERT_TRUE(after);
  EXPECT_EQ(sample(*after, R"(ringlb_config_reloads_total{result="ok"})"), 1.0) << *after;
  EXPECT_EQ(sample(*after, "ringlb_config_last_reload_success"), 1.0) << *after;

  // A key that cannot change live is reported and kept; the rest of the file applies.
  ProxyConfig more = cfg;
  more.workers = 3;
  more.servers = {s1_.address(), s2_.address()};
  ASSERT_TRUE(proxy.rewriteConfig(more.toYaml()));
  const CommandResult restart = ctl({"--socket", cfg.adminSocket, "reload"});
  ASSERT_TRUE(restart.status);
  EXPECT_EQ(restart.status->code, 0) << restart.out << restart.err;
  EXPECT_NE(restart.out.find("global.workers changed: needs a restart (still 1)"), std::string::npos) << restart.out;
  EXPECT_NE(restart.out.find("server 'app/s2' added"), std::string::npos) << restart.out;
  EXPECT_NE(adminCommand(cfg.adminSocket, "show info").find("workers: 1\n"), std::string::npos);
  EXPECT_NE(adminCommand(cfg.adminSocket, "show servers").find("app/s2 "), std::string::npos);
}

// A server removed by a reload takes no new connections, and its open connection keeps flowing
// to its end, intact.
TEST_F(ReloadTest, RemovedServersOpenConnectionRunsToCompletion) {
  ProxyConfig cfg;
  cfg.balance = "first";
  cfg.servers = {s1_.address(), s2_.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  ConnectResult open = connectLocal(proxy.port());
  ASSERT_TRUE(open.fd && echoes(open.fd.get(), "first"));
  ASSERT_EQ(s1_.accepted(), 1u);

  ProxyConfig without = cfg;
  without.servers = {s2_.address()};
  without.serverNames = {"s2"};
  ASSERT_TRUE(proxy.reloadWith(without.toYaml()));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(served(proxy.port()));
  EXPECT_EQ(s1_.accepted(), 1u) << "a removed server got a new connection";
  EXPECT_EQ(s2_.accepted(), 5u);

  std::string chunk(64 * 1024, '\0');
  for (int round = 0; round < 16; ++round) {
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>('a' + (i * 7 + round) % 26);
    ASSERT_TRUE(echoes(open.fd.get(), chunk)) << "round " << round;
  }
  ::shutdown(open.fd.get(), SHUT_WR);
  EXPECT_EQ(readUntilEnd(open.fd.get(), Deadline(5s)).end, StreamEnd::Eof);
}

// Across a reload of an unchanged file a DOWN server stays DOWN, a drained one stays drained and
// a weight set at run time stays; a `state:` the file changes takes the file's value.
TEST_F(ReloadTest, KeptServersKeepTheirRuntimeState) {
  ClosedPort dead;
  ProxyConfig cfg;
  cfg.servers = {dead.address(), s2_.address(), s3_.address()};
  cfg.healthCheck = "{ type: tcp, interval: 200ms, timeout: 100ms, rise: 2, fall: 2 }";
  cfg.adminSocket = dir_.path() + "/admin.sock";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  ASSERT_TRUE(proxy.waitForLog("server app/s2 is now UP", Deadline(10s)));
  ASSERT_TRUE(proxy.waitForLog("server app/s3 is now UP", Deadline(10s)));
  ASSERT_NE(adminCommand(cfg.adminSocket, "set server app/s3 state draining").rfind("ok", 0), std::string::npos);
  ASSERT_EQ(adminCommand(cfg.adminSocket, "set server app/s2 weight 40").rfind("ok", 0), 0u);

  // The same configuration, edited only in a comment.
  ASSERT_TRUE(proxy.reloadWith(cfg.toYaml() + "# touched\n"));
  std::string servers = adminCommand(cfg.adminSocket, "show servers");
  EXPECT_NE(servers.find("app/s1 " + dead.address() + " active DOWN"), std::string::npos) << servers;
  EXPECT_NE(servers.find("app/s2 " + s2_.address() + " active UP"), std::string::npos) << servers;
  EXPECT_NE(servers.find(" 40 "), std::string::npos) << "runtime weight lost\n" << servers;
  EXPECT_NE(servers.find("app/s3 " + s3_.address() + " draining"), std::string::npos) << servers;

  // The file now sets s2 to maintenance: the file's change wins.
  ProxyConfig changed = cfg;
  changed.serverStates = {"", "maintenance", ""};
  ASSERT_TRUE(proxy.reloadWith(changed.toYaml()));
  servers = adminCommand(cfg.adminSocket, "show servers");
  EXPECT_NE(servers.find("app/s2 " + s2_.address() + " maintenance"), std::string::npos) << servers;
  EXPECT_NE(servers.find("app/s3 " + s3_.address() + " draining"), std::string::npos) << servers;

  // And back to active by the file: out of maintenance the server is DOWN until its checks,
  // which must run again, bring it up. (First let the check planned before maintenance run out:
  // in maintenance no next one is planned, so nothing but the reload can restart them.)
  std::this_thread::sleep_for(1s);
  const std::size_t upsBefore = proxy.countInLog("server app/s2 is now UP");
  ASSERT_TRUE(proxy.reloadWith(cfg.toYaml()));
  const Deadline deadline(10s);
  while (proxy.countInLog("server app/s2 is now UP") == upsBefore && !deadline.passed()) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GT(proxy.countInLog("server app/s2 is now UP"), upsBefore) << "no check ran after maintenance";
}

// A removed address's accept queue is served, not reset: with the process at max_connections its
// listeners are paused, so three clients wait in the kernel's queue of frontend `extra`. A
// reload removes `extra`; its sockets close only after the worker took those three, which are
// served once the first connection leaves. Then the address refuses.
TEST_F(ReloadTest, RemovedAddressServesWhatItsQueueHolds) {
  ProxyConfig cfg;
  cfg.maxConnections = 1;
  cfg.connectTimeout = "10s";  // also how long a connection may wait at the limit
  cfg.servers = {s1_.address()};
  cfg.frontends = {FrontendSpec{"web", "127.0.0.1:0", 0}, FrontendSpec{"extra", "127.0.0.2:0", 0}};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  const std::uint16_t extra = proxy.port("extra");
  ASSERT_NE(extra, 0);
  const net::Address extraAddress = *net::Address::parse("127.0.0.2:" + std::to_string(extra), nullptr);

  ConnectResult first = connectLocal(proxy.port());
  ASSERT_TRUE(first.fd && echoes(first.fd.get(), "first"));
  std::vector<Fd> queued;
  for (int i = 0; i < 3; ++i) {
    ConnectResult c = connectTcp(extraAddress, 5s);  // completes in the kernel: the queue
    ASSERT_TRUE(c.fd) << "queued client " << i;
    ASSERT_TRUE(sendAll(c.fd.get(), "queued" + std::to_string(i), Deadline(5s)));
    queued.push_back(std::move(c.fd));
  }
  ASSERT_EQ(s1_.accepted(), 1u) << "the limit did not hold the others back";

  ProxyConfig without = cfg;
  without.frontends = {FrontendSpec{"web", "127.0.0.1:0", 0}};
  ASSERT_TRUE(proxy.reloadWith(without.toYaml()));
  std::this_thread::sleep_for(200ms);  // the worker retires the listener at its next turn

  ::shutdown(first.fd.get(), SHUT_WR);
  ASSERT_EQ(readUntilEnd(first.fd.get(), Deadline(5s)).end, StreamEnd::Eof);
  for (int i = 0; i < 3; ++i) {
    const std::string expected = "queued" + std::to_string(i);
    EXPECT_EQ(recvExact(queued[static_cast<std::size_t>(i)].get(), expected.size(), Deadline(10s)), expected)
        << "queued client " << i << " was not served";
    ::shutdown(queued[static_cast<std::size_t>(i)].get(), SHUT_WR);
    EXPECT_EQ(readUntilEnd(queued[static_cast<std::size_t>(i)].get(), Deadline(10s)).end, StreamEnd::Eof);
  }
  ConnectResult late = connectTcp(extraAddress, 5s);
  EXPECT_FALSE(late.fd) << "the removed address still accepts";
}

}  // namespace
}  // namespace ringlb::test
