// Running out of file descriptors must neither crash ringlb nor make it spin: accepting pauses
// (connections wait in the kernel backlog), a rate-limited warning is logged, and service
// resumes by itself once descriptors are free again.
#include <sys/resource.h>

#include <gtest/gtest.h>

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

// Echo round trip through the proxy; true if the connection was served.
bool served(int fd) {
  return sendAll(fd, "ping", Deadline(3s)) && recvExact(fd, 4, Deadline(3s)) == "ping";
}

// With descriptors exhausted by many open connections, ringlb stays up, warns, and serves a new
// client once the others have gone.
TEST(ResourceExhaustionTest, DescriptorExhaustionPausesAcceptingAndRecovers) {
  TestBackend backend({.mode = BackendMode::Echo});
  ProxyConfig cfg;
  cfg.servers = {backend.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  // Enough for the process's own descriptors and a handful of sessions (two each), far fewer
  // than the clients we open.
  ASSERT_TRUE(limitDescriptors(proxy.pid(), 48));

  std::vector<Fd> clients;
  for (int i = 0; i < 60; ++i) {
    ConnectResult c = connectLocal(proxy.port(), 3s);
    ASSERT_TRUE(c.fd) << "the kernel backlog should still complete handshakes";
    clients.push_back(std::move(c.fd));
  }
  int servedCount = 0;
  for (Fd& fd : clients) servedCount += served(fd.get()) ? 1 : 0;
  EXPECT_GT(servedCount, 0) << "nothing served at all";
  EXPECT_LT(servedCount, 60) << "the limit did not bite; the test proves nothing";
  EXPECT_TRUE(proxy.waitForLog("Too many open files", Deadline(5s))) << proxy.log();
  EXPECT_TRUE(proxy.running()) << proxy.log();

  clients.clear();  // frees the proxy's descriptors as it sees the clients go
  bool recovered = false;
  const Deadline deadline(10s);
  while (!recovered && !deadline.passed()) {
    ConnectResult c = connectLocal(proxy.port(), 3s);
    recovered = c.fd && served(c.fd.get());
  }
  EXPECT_TRUE(recovered) << proxy.log();
  EXPECT_TRUE(proxy.running());
}

}  // namespace
}  // namespace ringlb::test
