// Binary upgrade (`ringlb -c FILE --upgrade-from ADMIN_SOCKET`) against real processes: the new
// process takes over the old one's listening sockets under load, with a different worker count;
// no connection is refused, reset or corrupted; the old one exits once its connections are done;
// the new one serves every address and carries the servers' runtime state over.
#include <signal.h>
#include <unistd.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "support/AdminClient.h"
#include "support/Client.h"
#include "support/EchoLoad.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/Scrape.h"
#include "support/TempDir.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

class UpgradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.workers = 2;
    cfg_.servers = {s1_.address(), s2_.address()};
    cfg_.balance = "roundrobin";
    // Checks on, with an interval long enough that the new process cannot have checked anything
    // in its first second: servers it may use at once have their state from the old process.
    cfg_.healthCheck = "{ type: tcp, interval: 3s, timeout: 1s }";
    cfg_.adminSocket = dir_.path() + "/admin.sock";
    cfg_.metricsListen = "127.0.0.1:0";
    cfg_.frontends = {FrontendSpec{"web", "127.0.0.1:0", 0}, FrontendSpec{"alt", "127.0.0.2:0", 0}};
  }
  TempDir dir_;
  TestBackend s1_{{.mode = BackendMode::Echo}};
  TestBackend s2_{{.mode = BackendMode::Echo}};
  ProxyConfig cfg_;
};

// 8 client threads move checksummed data through the old process while a new one (1 worker
// instead of 2) takes over its sockets: zero failed connections, the old process exits 0 once
// its connections are done, the new one serves both addresses on the same ports, answers on the
// admin socket and the metrics endpoint, and kept s2 drained as the old one had it.
TEST_F(UpgradeTest, NewProcessTakesOverUnderLoadWithoutLosingAConnection) {
  RingLbProcess old(RINGLB_BINARY);
  ASSERT_TRUE(old.start(cfg_.toYaml()));
  ASSERT_TRUE(old.waitForLog("server app/s1 is now UP", Deadline(10s)));
  ASSERT_TRUE(old.waitForLog("server app/s2 is now UP", Deadline(10s)));
  ASSERT_EQ(adminCommand(cfg_.adminSocket, "set server app/s2 state draining").rfind("ok", 0), 0u);
  ASSERT_EQ(adminCommand(cfg_.adminSocket, "set server app/s1 weight 70").rfind("ok", 0), 0u);
  ASSERT_EQ(adminCommand(cfg_.adminSocket, "set server app/s2 weight 30").rfind("ok", 0), 0u);
  const net::Address web = old.listeners()[0].address;
  const net::Address alt = old.listeners()[1].address;

  EchoLoad load(old.port("web"), 8);
  std::this_thread::sleep_for(300ms);
  const std::uint64_t beforeUpgrade = load.ok();

  ProxyConfig next = cfg_;
  next.workers = 1;
  next.serverWeights = {50, -1};  // the new file changes s1's weight: the file wins for s1
  RingLbProcess fresh(RINGLB_BINARY);
  fresh.addArguments({"--upgrade-from", cfg_.adminSocket});
  ASSERT_TRUE(fresh.start(next.toYaml()));
  EXPECT_EQ(fresh.port("web"), web.port());
  EXPECT_EQ(fresh.port("alt"), alt.port());

  const auto oldExit = old.waitExit(20s);
  ASSERT_TRUE(oldExit) << "the old process did not exit after its connections were done";
  EXPECT_TRUE(oldExit->ok()) << oldExit->toString();
  std::this_thread::sleep_for(500ms);  // only the new process serves now
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << "first failure: " << load.firstFailure();
  EXPECT_GT(load.ok(), beforeUpgrade) << "no connection went through during the upgrade";

  EXPECT_TRUE(served(web));
  EXPECT_TRUE(served(alt));
  const std::string servers = adminCommand(cfg_.adminSocket, "show servers");
  EXPECT_NE(servers.find("app/s1 " + s1_.address() + " active UP"), std::string::npos) << servers;
  EXPECT_NE(servers.find("app/s2 " + s2_.address() + " draining"), std::string::npos) << servers;
  // Weights: s1's from the new file (it changed it), s2's runtime one (the file did not).
  EXPECT_NE(servers.find(" 50 "), std::string::npos) << servers;
  EXPECT_NE(servers.find(" 30 "), std::string::npos) << servers;
  EXPECT_EQ(servers.find(" 70 "), std::string::npos) << servers;
  const std::optional<std::string> body = scrape(metricsPort(fresh.log()));
  EXPECT_TRUE(body && body->find("ringlb_frontend_connections_total") != std::string::npos);
  EXPECT_NE(old.log().find("upgrade: a new process took over"), std::string::npos) << old.log();
}

// --upgrade-from a path nothing serves (the first start of a unit that always passes it) starts
// without taking over, and says so; a path that answers with something else is a clear error.
TEST_F(UpgradeTest, NothingToTakeOverFromStartsFresh) {
  RingLbProcess fresh(RINGLB_BINARY);
  fresh.addArguments({"--upgrade-from", dir_.path() + "/nobody.sock"});
  ASSERT_TRUE(fresh.start(cfg_.toYaml()));
  EXPECT_NE(fresh.log().find("upgrade: nothing serves " + dir_.path() + "/nobody.sock"), std::string::npos)
      << fresh.log();
  ASSERT_TRUE(fresh.waitForLog("server app/s1 is now UP", Deadline(10s)));  // a fresh start checks first
  EXPECT_TRUE(served(fresh.listeners()[0].address));

  // A wrong path while another process serves the same address: refused, not started beside it.
  ProxyConfig same = cfg_;
  same.adminSocket = dir_.path() + "/other.sock";
  same.metricsListen.clear();
  same.frontends = {FrontendSpec{"web", fresh.listeners()[0].address.toString(), 0}};
  RingLbProcess second(RINGLB_BINARY);
  second.addArguments({"--upgrade-from", dir_.path() + "/typo.sock"});
  EXPECT_FALSE(second.start(same.toYaml(), 10s));
  const auto status = second.waitExit(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code, 1);
  EXPECT_NE(second.log().find("is already served (another ringlb?)"), std::string::npos) << second.log();
}

// `_handoff` answers, then releases the admin socket (a second process could bind it now) and
// the process drains and exits 0 on its own.
TEST_F(UpgradeTest, HandoffReleasesTheAdminSocketAndExits) {
  RingLbProcess old(RINGLB_BINARY);
  ASSERT_TRUE(old.start(cfg_.toYaml()));
  // Only the sockets a `_getsocks` handed over can be handed off to.
  EXPECT_EQ(adminCommand(cfg_.adminSocket, "_handoff").rfind("error: no _getsocks", 0), 0u);
  EXPECT_EQ(adminCommand(cfg_.adminSocket, "_getsocks").rfind("ok: 4 listening sockets", 0), 0u);
  EXPECT_EQ(adminCommand(cfg_.adminSocket, "_handoff").rfind("ok: handing over", 0), 0u);
  const auto exit = old.waitExit(10s);
  ASSERT_TRUE(exit);
  EXPECT_TRUE(exit->ok()) << exit->toString();
  EXPECT_NE(::access(cfg_.adminSocket.c_str(), F_OK), 0) << "the admin socket file is still there";
}

}  // namespace
}  // namespace ringlb::test
