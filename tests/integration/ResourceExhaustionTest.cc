// Running out of file descriptors must neither crash ringlb nor make it spin: accepting pauses
// (connections wait in the kernel backlog), a rate-limited warning is logged, and service
// resumes by itself once descriptors are free again.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "support/Client.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

// Lowers a running process's descriptor limit (soft and hard) with prlimit(2).
bool limitDescriptors(pid_t pid, rlim_t n) {
  const rlimit lim{n, n};
  return prlimit(pid, RLIMIT_NOFILE, &lim, nullptr) == 0;
}

// CPU time (user+system, all threads) the process has used, in clock ticks.
long cpuTicks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  long utime = 0;
  long stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

// Echo round trip through the proxy; true if the connection was served.
bool served(int fd) {
  return sendAll(fd, "ping", Deadline(3s)) && recvExact(fd, 4, Deadline(3s)) == "ping";
}

// With descriptors exhausted by many open connections, ringlb stays up, warns, does not spin
// while clients keep waiting in the backlog, and serves a new client once the others have gone.
// Sessions take descriptors in pairs (client, server), so the parity of the limit decides
// which call runs out first: accept itself (EMFILE on accept) or the server socket after an
// accept. Both paths are exercised.
class ResourceExhaustionTest : public ::testing::TestWithParam<rlim_t> {};

TEST_P(ResourceExhaustionTest, DescriptorExhaustionNeitherCrashesNorSpinsAndRecovers) {
  TestBackend backend({.mode = BackendMode::Echo});
  ProxyConfig cfg;
  cfg.servers = {backend.address()};
  // A session whose server socket cannot be created waits (client kept) up to the connect
  // timeout; a long one makes "waiting, not dropped" observable within the test's window.
  cfg.connectTimeout = "8s";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  // Enough for the process's own descriptors and a handful of sessions (two each), far fewer
  // than the clients we open.
  {
    ConnectResult first = connectLocal(proxy.port(), 3s);
    ASSERT_TRUE(first.fd && served(first.fd.get())) << "not serving even before the limit";
  }
  ASSERT_TRUE(limitDescriptors(proxy.pid(), GetParam()));

  std::vector<Fd> clients;
  for (int i = 0; i < 60; ++i) {
    ConnectResult c = connectLocal(proxy.port(), 3s);
    ASSERT_TRUE(c.fd) << "the kernel backlog should still complete handshakes";
    clients.push_back(std::move(c.fd));
  }
  // Ask every client at once, then collect answers under one shared deadline: clients held in
  // the backlog never answer, and must not cost a timeout each.
  for (Fd& fd : clients) ASSERT_TRUE(sendAll(fd.get(), "ping", Deadline(3s)));
  const Deadline answers(3s);
  int servedCount = 0;
  std::vector<Fd> waiting;  // not served yet
  for (Fd& fd : clients) {
    if (recvExact(fd.get(), 4, answers) == "ping") {
      ++servedCount;
    } else {
      waiting.push_back(std::move(fd));
    }
  }
  // Unserved clients must wait (in the kernel backlog, or accepted and parked until a server
  // socket can be created), not be dropped: none sees EOF or reset within the connect timeout.
  int dropped = 0;
  for (Fd& fd : waiting) dropped += readUntilEnd(fd.get(), Deadline(0s)).end != StreamEnd::Timeout;
  EXPECT_LE(dropped, 3) << "of " << waiting.size() << " unserved clients";
  // How many of the first burst get served depends on how the kernel batched the accepts;
  // what matters is that the limit bit and that the rest wait.
  EXPECT_LT(servedCount, 60) << "the limit did not bite; the test proves nothing";
  EXPECT_TRUE(proxy.waitForLog("Too many open files", Deadline(5s))) << proxy.log();
  EXPECT_TRUE(proxy.running()) << proxy.log();

  // Still exhausted, with more clients knocking: a loop retrying accept at once would burn a
  // whole core; a paused one sleeps. Half a core over one second is a generous bound.
  for (int i = 0; i < 20; ++i) {
    ConnectResult c = connectLocal(proxy.port(), 3s);
    if (c.fd) clients.push_back(std::move(c.fd));
  }
  const long before = cpuTicks(proxy.pid());
  std::this_thread::sleep_for(1s);
  const long used = cpuTicks(proxy.pid()) - before;
  EXPECT_LT(used, sysconf(_SC_CLK_TCK) / 2) << "ringlb spun while out of descriptors";

  clients.clear();  // frees the proxy's descriptors as it sees the clients go
  waiting.clear();
  bool recovered = false;
  const Deadline deadline(20s);  // parked sessions notice their clients left at the latest
                                 // when their connect timeout (8s) ends their wait
  while (!recovered && !deadline.passed()) {
    ConnectResult c = connectLocal(proxy.port(), 3s);
    recovered = c.fd && served(c.fd.get());
  }
  EXPECT_TRUE(recovered) << proxy.log();
  EXPECT_TRUE(proxy.running());
}

INSTANTIATE_TEST_SUITE_P(Limit, ResourceExhaustionTest, ::testing::Values(48, 49),
                         [](const auto& p) { return "nofile" + std::to_string(p.param); });

}  // namespace
}  // namespace ringlb::test
