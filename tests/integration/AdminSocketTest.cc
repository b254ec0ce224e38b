// The admin socket and `ringlb ctl` against a real ringlb: draining and maintenance steer new
// connections away while open ones keep flowing, every server unavailable closes clients at
// once, and no admin client (garbage, silence, huge lines, too many of them, leaving
// mid-command) can hurt the process or other clients.
#include <poll.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/AdminClient.h"
#include "support/Client.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
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

class AdminSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.servers = {one_.address(), two_.address()};
    cfg_.balance = "roundrobin";
    cfg_.adminSocket = dir_.path() + "/admin.sock";
  }
  TempDir dir_;
  TestBackend one_{{.mode = BackendMode::Echo}};
  TestBackend two_{{.mode = BackendMode::Echo}};
  ProxyConfig cfg_;
};

// Draining s1 with `ringlb ctl`: its open connection keeps flowing to the end, byte for byte,
// while every new connection goes to s2. Setting it active again brings new connections back.
TEST_F(AdminSocketTest, DrainKeepsOpenConnectionAndStopsNewOnes) {
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg_.toYaml()));
  ConnectResult open = connectLocal(proxy.port());
  ASSERT_TRUE(open.fd && echoes(open.fd.get(), "first"));
  ASSERT_EQ(one_.accepted(), 1u) << "roundrobin's first pick is s1";

  const CommandResult drained = ctl({"--socket", cfg_.adminSocket, "set", "server", "app/s1", "state", "draining"});
  ASSERT_TRUE(drained.status && drained.status->ok()) << drained.out << drained.err;
  EXPECT_EQ(drained.out.rfind("ok: app/s1 is draining", 0), 0u) << drained.out;

  for (int i = 0; i < 10; ++i) ASSERT_TRUE(served(proxy.port())) << "connection " << i;
  EXPECT_EQ(one_.accepted(), 1u) << "a draining server got a new connection";
  EXPECT_EQ(two_.accepted(), 10u);

  // The drained server's connection still carries 1 MiB both ways, intact, then ends cleanly.
  std::string chunk(64 * 1024, '\0');
  for (int round = 0; round < 16; ++round) {
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>('a' + (i * 7 + round) % 26);
    ASSERT_TRUE(echoes(open.fd.get(), chunk)) << "round " << round;
  }
  ::shutdown(open.fd.get(), SHUT_WR);
  EXPECT_EQ(readUntilEnd(open.fd.get(), Deadline(5s)).end, StreamEnd::Eof);

  const std::string servers = adminCommand(cfg_.adminSocket, "show servers");
  EXPECT_NE(servers.find("app/s1 " + one_.address() + " draining DRAIN"), std::string::npos) << servers;

  const CommandResult active = ctl({"--socket", cfg_.adminSocket, "set", "server", "app/s1", "state", "active"});
  ASSERT_TRUE(active.status && active.status->ok()) << active.out << active.err;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(served(proxy.port()));
  EXPECT_GE(one_.accepted(), 2u) << "s1 got nothing after it was set active again";
}

// Maintenance takes a server out of rotation for new connections.
TEST_F(AdminSocketTest, MaintenanceTakesNoNewConnections) {
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg_.toYaml()));
  EXPECT_EQ(adminCommand(cfg_.adminSocket, "set server app/s2 state maintenance"),
            "ok: app/s2 is maintenance (MAINT)\n");
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(served(proxy.port()));
  EXPECT_EQ(two_.accepted(), 0u);
  EXPECT_EQ(one_.accepted(), 6u);
}

// A backup server takes connections only while no primary can: when the primary goes to
// maintenance the backup takes over, and when the primary is back it takes every new connection
// again.
TEST_F(AdminSocketTest, BackupTakesOverAndHandsBack) {
  cfg_.serverBackup = {false, true};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg_.toYaml()));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(served(proxy.port()));
  EXPECT_EQ(one_.accepted(), 4u);
  EXPECT_EQ(two_.accepted(), 0u) << "the backup got traffic while the primary was up";

  ASSERT_EQ(adminCommand(cfg_.adminSocket, "set server app/s1 state maintenance").rfind("ok:", 0), 0u);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(served(proxy.port())) << "backup did not take over";
  EXPECT_EQ(two_.accepted(), 4u);

  ASSERT_EQ(adminCommand(cfg_.adminSocket, "set server app/s1 state active").rfind("ok:", 0), 0u);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(served(proxy.port()));
  EXPECT_EQ(one_.accepted(), 8u) << "the primary did not take its traffic back";
  EXPECT_EQ(two_.accepted(), 4u);
}

// `set server ... weight 0` takes a server out of new-connection rotation through a rebuilt
// balancer (the workers switch snapshots); an open connection to it keeps flowing; a weight
// back brings it back.
TEST_F(AdminSocketTest, WeightChangeReachesTheWorkers) {
  cfg_.workers = 2;
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg_.toYaml()));
  std::vector<ConnectResult> open;
  for (int i = 0; i < 4; ++i) {
    open.push_back(connectLocal(proxy.port()));
    ASSERT_TRUE(open.back().fd && echoes(open.back().fd.get(), "hello"));
  }
  ASSERT_GE(one_.accepted(), 1u);
  EXPECT_EQ(adminCommand(cfg_.adminSocket, "set server app/s1 weight 0"), "ok: app/s1 weight 100 -> 0\n");
  const std::size_t oneBefore = one_.accepted();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(served(proxy.port()));
  EXPECT_EQ(one_.accepted(), oneBefore) << "a server of weight 0 got a new connection";
  for (ConnectResult& c : open) EXPECT_TRUE(echoes(c.fd.get(), "still here"));
  EXPECT_NE(adminCommand(cfg_.adminSocket, "show servers").find(" 0\n"), std::string::npos);
  ASSERT_EQ(adminCommand(cfg_.adminSocket, "set server app/s1 weight 100").rfind("ok:", 0), 0u);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(served(proxy.port()));
  EXPECT_GT(one_.accepted(), oneBefore) << "s1 got nothing after its weight came back";
}

// Maintenance leaves open connections alone (HAProxy's MAINT does too); `shutdown sessions
// server` then resets exactly that server's connections, and the other server's keep flowing.
TEST_F(AdminSocketTest, ShutdownSessionsResetsOnlyThatServersConnections) {
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg_.toYaml()));
  ConnectResult toOne = connectLocal(proxy.port());
  ASSERT_TRUE(toOne.fd && echoes(toOne.fd.get(), "one"));
  ConnectResult toTwo = connectLocal(proxy.port());
  ASSERT_TRUE(toTwo.fd && echoes(toTwo.fd.get(), "two"));
  ASSERT_EQ(one_.accepted(), 1u);
  ASSERT_EQ(two_.accepted(), 1u);

  ASSERT_EQ(adminCommand(cfg_.adminSocket, "set server app/s1 state maintenance").rfind("ok:", 0), 0u);
  EXPECT_TRUE(echoes(toOne.fd.get(), "still open in maintenance"));

  const CommandResult killed = ctl({"--socket", cfg_.adminSocket, "shutdown", "sessions", "server", "app/s1"});
  ASSERT_TRUE(killed.status && killed.status->ok()) << killed.out << killed.err;
  EXPECT_EQ(killed.out, "ok: resetting 1 connection(s) of app/s1\n");
  const ReadResult r = readUntilEnd(toOne.fd.get(), Deadline(5s));
  EXPECT_EQ(r.end, StreamEnd::Reset) << "a killed session must not look complete";
  EXPECT_TRUE(echoes(toTwo.fd.get(), "untouched"));
  EXPECT_TRUE(proxy.waitForLog("closed 1 sessions of a server (admin_kill)", Deadline(5s))) << proxy.log();
}

// A weight change on a 4,096-server rendezvous backend rebuilds a table that takes most of a
// second (docs/benchmarks.md). The rebuild runs off the control loop: another admin client is
// answered while it runs, and the weight command replies once the workers have the new table.
TEST_F(AdminSocketTest, LargeRebuildDoesNotBlockTheAdminSocket) {
  cfg_.balance = "rendezvous";
  cfg_.servers.clear();
  for (int i = 0; i < 4096; ++i) cfg_.servers.push_back("127.0.0.2:" + std::to_string(10000 + i));
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg_.toYaml()));
  AdminClient slow(cfg_.adminSocket);
  ASSERT_TRUE(slow.valid());
  ASSERT_TRUE(sendAll(slow.fd(), "set server app/s1 weight 50\n", Deadline(5s)));
  // Answered at once while the table is being built...
  const std::string info = adminCommand(cfg_.adminSocket, "show info");
  EXPECT_EQ(info.rfind("version: ", 0), 0u) << info;
  pollfd pfd{slow.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&pfd, 1, 0), 0) << "the weight reply came before the show info reply: was the "
                                      "rebuild that quick, or did it block the loop?";
  // ...and the weight command once the rebuild is published.
  EXPECT_EQ(slow.reply(Deadline(60s)).rfind("ok: app/s1 weight 100 -> 50\n", 0), 0u);
}

// `printf 'cmd\ncmd\n' | nc -U sock` half-closes after its commands: every complete line still
// gets its reply, in order (a deferred one too), then the connection closes; an unfinished last
// line gets none.
TEST_F(AdminSocketTest, HalfClosedClientGetsEveryReply) {
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg_.toYaml()));
  AdminClient client(cfg_.adminSocket);
  ASSERT_TRUE(client.valid());
  ASSERT_TRUE(sendAll(client.fd(), "set server app/s2 weight 7\nshow servers\nhelp", Deadline(5s)));
  ::shutdown(client.fd(), SHUT_WR);
  const ReadResult r = readUntilEnd(client.fd(), Deadline(10s));
  EXPECT_EQ(r.end, StreamEnd::Eof);
  ASSERT_EQ(r.data.rfind("ok: app/s2 weight 100 -> 7\n\n# backend/server", 0), 0u) << r.data;
  EXPECT_NE(r.data.find("app/s2 " + two_.address() + " active no_check - - 0 7 0\n\n"), std::string::npos)
      << r.data;
  EXPECT_EQ(r.data.find("show info"), std::string::npos) << "the unfinished 'help' line was run";
  EXPECT_TRUE(r.data.ends_with("\n\n")) << r.data;
}

// With every server unavailable a new client is closed at once, not left hanging until a
// timeout; the process keeps serving once a server is back.
TEST_F(AdminSocketTest, EveryServerUnavailableClosesClientsAtOnce) {
  cfg_.serverStates = {"maintenance", "draining"};
  cfg_.clientTimeout = "30s";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg_.toYaml()));
  for (int i = 0; i < 3; ++i) {
    ConnectResult c = connectLocal(proxy.port());
    ASSERT_TRUE(c.fd);
    // Well within the 30 s client timeout: the close comes from "no server", not idleness.
    const ReadResult r = readUntilEnd(c.fd.get(), Deadline(3s));
    EXPECT_NE(r.end, StreamEnd::Timeout) << "client " << i << " left hanging";
    EXPECT_EQ(r.data, "");
  }
  EXPECT_EQ(one_.accepted() + two_.accepted(), 0u);
  ASSERT_EQ(adminCommand(cfg_.adminSocket, "set server app/s1 state active").rfind("ok:", 0), 0u);
  EXPECT_TRUE(served(proxy.port()));
}

// Garbage, silence, a 1 MB line, leaving mid-command and a crowd of clients: each gets what it
// deserves (an error, or closed), and a well-behaved client and the data path are served
// promptly throughout.
TEST_F(AdminSocketTest, HostileClientsHurtNeitherProcessNorOthers) {
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg_.toYaml()));

  AdminClient silent(cfg_.adminSocket);  // connects and never says anything
  ASSERT_TRUE(silent.valid());

  AdminClient garbage(cfg_.adminSocket);
  ASSERT_TRUE(garbage.valid());
  EXPECT_EQ(garbage.command(std::string("\x01\xff\x7f garbage \x80", 13)).rfind("error: ", 0), 0u);
  EXPECT_EQ(garbage.command("").rfind("error: ", 0), 0u);
  EXPECT_EQ(garbage.command("show servers please").rfind("error: ", 0), 0u);
  EXPECT_EQ(garbage.command("show info").rfind("version: ", 0), 0u) << "still served after errors";

  {
    AdminClient huge(cfg_.adminSocket);
    ASSERT_TRUE(huge.valid());
    // 1 MB without a newline: the server answers an error once the line passes its limit and
    // closes. (It may close before reading everything: the send can fail; that is fine.)
    const std::string line(1 << 20, 'x');
    sendAll(huge.fd(), line, Deadline(5s));
    const ReadResult r = readUntilEnd(huge.fd(), Deadline(5s));
    EXPECT_NE(r.end, StreamEnd::Timeout) << "the 1 MB line did not get its connection closed";
    EXPECT_EQ(r.data.rfind("error: line longer than", 0), 0u) << r.data.substr(0, 200);
  }
  {
    AdminClient quitter(cfg_.adminSocket);
    ASSERT_TRUE(quitter.valid());
    sendAll(quitter.fd(), "set server app/s1 st", Deadline(1s));  // and leaves mid-command
  }
  {
    std::vector<AdminClient> crowd;
    for (int i = 0; i < 40; ++i) crowd.emplace_back(cfg_.adminSocket);
    int refused = 0;
    for (AdminClient& c : crowd) {
      const std::string reply = c.command("show info", Deadline(3s));
      refused += reply.rfind("error: too many admin clients", 0) == 0 || reply.empty();
    }
    EXPECT_GT(refused, 0) << "no limit on admin clients";
  }
  // The crowd left (their descriptors closed): a new client is served, so is the data path.
  const std::string servers = adminCommand(cfg_.adminSocket, "show servers");
  EXPECT_EQ(servers.rfind("# backend/server", 0), 0u) << servers;
  EXPECT_NE(servers.find("app/s1 " + one_.address() + " active"), std::string::npos) << servers;
  EXPECT_TRUE(served(proxy.port()));
  EXPECT_TRUE(proxy.running());
}

// ringlb ctl's exit status: 0 for a reply, 1 for an error reply, 2 when the socket cannot be
// reached; -c finds the socket in the configuration.
TEST_F(AdminSocketTest, CtlExitStatus) {
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg_.toYaml()));
  const CommandResult help = ctl({"--socket", cfg_.adminSocket, "help"});
  ASSERT_TRUE(help.status);
  EXPECT_EQ(help.status->code, 0);
  EXPECT_NE(help.out.find("set server BACKEND/SERVER state"), std::string::npos) << help.out;

  const CommandResult bad = ctl({"--socket", cfg_.adminSocket, "set", "server", "app/nope", "state", "active"});
  ASSERT_TRUE(bad.status);
  EXPECT_EQ(bad.status->code, 1);
  EXPECT_EQ(bad.out, "error: no server 'app/nope'\n");

  const CommandResult gone = ctl({"--socket", dir_.path() + "/missing.sock", "help"});
  ASSERT_TRUE(gone.status);
  EXPECT_EQ(gone.status->code, 2);

  const std::string file = dir_.write("ringlb.yaml", cfg_.toYaml());
  const CommandResult viaConfig = ctl({"-c", file, "show", "info"});
  ASSERT_TRUE(viaConfig.status);
  EXPECT_EQ(viaConfig.status->code, 0) << viaConfig.err;
  EXPECT_NE(viaConfig.out.find("workers: 1"), std::string::npos) << viaConfig.out;
}

}  // namespace
}  // namespace ringlb::test
