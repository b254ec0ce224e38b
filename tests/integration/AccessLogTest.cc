// The access log of a real ringlb: one line per finished session, parsed back, for each close
// reason the tests can provoke, in text and JSON; and SIGUSR1 reopens the file for logrotate.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/AdminClient.h"
#include "support/Client.h"
#include "support/ClosedPort.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TempDir.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

std::vector<std::string> readLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Waits (bounded) until the file has at least `n` lines: the writer drains every 100 ms.
std::vector<std::string> waitForLines(const std::string& path, std::size_t n) {
  const Deadline deadline(10s);
  std::vector<std::string> lines;
  while ((lines = readLines(path)).size() < n && !deadline.passed()) ::usleep(20000);
  return lines;
}

std::vector<std::string> fields(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

// One echo round trip of `payload`, then a clean close by the client.
void echoAndClose(std::uint16_t port, const std::string& payload) {
  ConnectResult c = connectLocal(port);
  ASSERT_TRUE(c.fd);
  ASSERT_TRUE(sendAll(c.fd.get(), payload, Deadline(5s)));
  ASSERT_EQ(recvExact(c.fd.get(), payload.size(), Deadline(5s)), payload);
  ::shutdown(c.fd.get(), SHUT_WR);
  ASSERT_EQ(readUntilEnd(c.fd.get(), Deadline(5s)).end, StreamEnd::Eof);
}

class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.servers = {echo_.address()};
    cfg_.accessLogPath = dir_.path() + "/access.log";
    cfg_.adminSocket = dir_.path() + "/admin.sock";
  }
  TempDir dir_;
  TestBackend echo_{{.mode = BackendMode::Echo}};
  ProxyConfig cfg_;
};

// Text lines: nine fields (time, client, frontend, backend/server, connect/duration, bytes in,
// bytes out, reason, attempts) for a completed session, a connect that failed, a client reset
// and a session killed by the admin socket.
TEST_F(AccessLogTest, TextLinesForEachReason) {
  ClosedPort closed;
  cfg_.servers = {echo_.address(), closed.address()};
  cfg_.serverStates = {"active", "maintenance"};
  cfg_.connectTimeout = "500ms";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg_.toYaml()));

  echoAndClose(proxy.port(), std::string(1234, 'a'));  // 1: completed
  {                                                      // 2: client reset
    ConnectResult c = connectLocal(proxy.port());
    ASSERT_TRUE(c.fd && sendAll(c.fd.get(), "xyz", Deadline(5s)) && recvExact(c.fd.get(), 3, Deadline(5s)) == "xyz");
    closeWithReset(c.fd);
  }
  {  // 3: killed by the admin socket
    ConnectResult c = connectLocal(proxy.port());
    ASSERT_TRUE(c.fd && sendAll(c.fd.get(), "k", Deadline(5s)) && recvExact(c.fd.get(), 1, Deadline(5s)) == "k");
    ASSERT_EQ(adminCommand(cfg_.adminSocket, "shutdown sessions server app/s1").rfind("ok:", 0), 0u);
    EXPECT_EQ(readUntilEnd(c.fd.get(), Deadline(5s)).end, StreamEnd::Reset);
  }
  // 4: connect failed: only the closed port is left.
  ASSERT_EQ(adminCommand(cfg_.adminSocket, "set server app/s1 state maintenance").rfind("ok:", 0), 0u);
  ASSERT_EQ(adminCommand(cfg_.adminSocket, "set server app/s2 state active").rfind("ok:", 0), 0u);
  {
    ConnectResult c = connectLocal(proxy.port());
    ASSERT_TRUE(c.fd);
    EXPECT_NE(readUntilEnd(c.fd.get(), Deadline(10s)).end, StreamEnd::Timeout);
  }
  // 5: no server at all.
  ASSERT_EQ(adminCommand(cfg_.adminSocket, "set server app/s2 state maintenance").rfind("ok:", 0), 0u);
  {
    ConnectResult c = connectLocal(proxy.port());
    ASSERT_TRUE(c.fd);
    EXPECT_NE(readUntilEnd(c.fd.get(), Deadline(10s)).end, StreamEnd::Timeout);
  }

  const std::vector<std::string> lines = waitForLines(cfg_.accessLogPath, 5);
  ASSERT_EQ(lines.size(), 5u);
  std::vector<std::vector<std::string>> f;
  for (const std::string& line : lines) {
    f.push_back(fields(line));
    ASSERT_EQ(f.back().size(), 9u) << line;
    EXPECT_EQ(f.back()[0].size(), 24u) << "2026-12-02T04:40:00.123Z: " << line;
    EXPECT_TRUE(f.back()[0].ends_with("Z")) << line;
    EXPECT_EQ(f.back()[1].rfind("127.0.0.1:", 0), 0u) << line;
    EXPECT_EQ(f.back()[2], "web") << line;
  }
  // Lines come in the order sessions ended, which is the order above (each ended before the next began).
  EXPECT_EQ(f[0][3], "app/s1");
  EXPECT_EQ(f[0][5], "1234");
  EXPECT_EQ(f[0][6], "1234");
  EXPECT_EQ(f[0][7], "completed");
  EXPECT_EQ(f[0][8], "1");
  EXPECT_NE(f[0][4].find('/'), std::string::npos);
  EXPECT_NE(f[0][4].substr(0, 1), "-") << "a connected session has a connect time";
  EXPECT_EQ(f[1][7], "client_reset");
  EXPECT_EQ(f[1][5], "3");
  EXPECT_EQ(f[2][7], "admin_kill");
  EXPECT_EQ(f[3][3], "app/s2");
  EXPECT_EQ(f[3][7], "connect_failed");
  EXPECT_EQ(f[3][4].substr(0, 2), "-/") << "no connect succeeded";
  EXPECT_EQ(f[4][3], "app/-");
  EXPECT_EQ(f[4][7], "no_server");
  EXPECT_EQ(f[4][8], "0");
}

// JSON lines carry the same fields as keys; a server that resets shows as server_reset, a
// client that goes silent past its timeout as client_timeout.
TEST_F(AccessLogTest, JsonLinesForEachReason) {
  TestBackend resetter({.mode = BackendMode::ResetAfterRead, .bytes = 4});
  cfg_.servers = {echo_.address(), resetter.address()};
  cfg_.accessLogFormat = "json";
  cfg_.clientTimeout = "300ms";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg_.toYaml()));
  echoAndClose(proxy.port(), "hello");  // roundrobin: s1 (echo)
  {
    ConnectResult c = connectLocal(proxy.port());  // s2: reads 4 bytes, then RST
    ASSERT_TRUE(c.fd && sendAll(c.fd.get(), "abcd", Deadline(5s)));
    EXPECT_EQ(readUntilEnd(c.fd.get(), Deadline(5s)).end, StreamEnd::Reset);
  }
  {
    ConnectResult c = connectLocal(proxy.port());  // s1 again: then silence
    ASSERT_TRUE(c.fd && sendAll(c.fd.get(), "z", Deadline(5s)) && recvExact(c.fd.get(), 1, Deadline(5s)) == "z");
    EXPECT_NE(readUntilEnd(c.fd.get(), Deadline(10s)).end, StreamEnd::Timeout);
  }
  const std::vector<std::string> lines = waitForLines(cfg_.accessLogPath, 3);
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) {
    EXPECT_EQ(line.front(), '{') << line;
    EXPECT_EQ(line.back(), '}') << line;
    for (const char* key : {"\"time\":", "\"client\":\"127.0.0.1:", "\"frontend\":\"web\"", "\"backend\":\"app\"",
                            "\"duration_ms\":", "\"bytes_in\":", "\"bytes_out\":", "\"reason\":", "\"attempts\":1",
                            "\"worker\":0"}) {
      EXPECT_NE(line.find(key), std::string::npos) << key << " in " << line;
    }
  }
  EXPECT_NE(lines[0].find("\"server\":\"s1\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"bytes_in\":5,\"bytes_out\":5"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"reason\":\"completed\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("\"server\":\"s2\""), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("\"reason\":\"server_reset\""), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("\"reason\":\"client_timeout\""), std::string::npos) << lines[2];
}

// logrotate's create mode: the file is renamed, SIGUSR1 makes ringlb open the path again, and
// later sessions go to the new file while the old lines stay in the renamed one.
TEST_F(AccessLogTest, SigusrOneReopensTheFile) {
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg_.toYaml()));
  echoAndClose(proxy.port(), "before");
  ASSERT_EQ(waitForLines(cfg_.accessLogPath, 1).size(), 1u);
  const std::string rotated = cfg_.accessLogPath + ".1";
  ASSERT_EQ(std::rename(cfg_.accessLogPath.c_str(), rotated.c_str()), 0);
  ASSERT_TRUE(proxy.signal(SIGUSR1));
  ASSERT_TRUE(proxy.waitForLog("SIGUSR1: access log reopened", Deadline(5s))) << proxy.log();
  echoAndClose(proxy.port(), "after!");
  const std::vector<std::string> fresh = waitForLines(cfg_.accessLogPath, 1);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fields(fresh[0])[5], "6");
  const std::vector<std::string> old = readLines(rotated);
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(fields(old[0])[5], "6") << "'before' is 6 bytes too";
  EXPECT_TRUE(proxy.running());
}

}  // namespace
}  // namespace ringlb::test
