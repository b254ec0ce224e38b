// Connection limits hold connections in the kernel backlog rather than refusing them, and a
// slow reader throttles its writer instead of growing the proxy's memory.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "support/Client.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

// Connects and checks one echo round trip; returns the open connection.
Fd servedConnection(std::uint16_t port, const std::string& text) {
  ConnectResult c = connectLocal(port);
  EXPECT_TRUE(c.fd) << std::strerror(c.error);
  if (!c.fd) return Fd();
  EXPECT_TRUE(sendAll(c.fd.get(), text, Deadline(5s)));
  EXPECT_EQ(recvExact(c.fd.get(), text.size(), Deadline(5s)), text) << "no echo";
  return std::move(c.fd);
}

// Connects (the kernel completes the handshake from the backlog) and sends text, which must not
// be echoed for 500 ms because the proxy is not accepting.
Fd heldConnection(std::uint16_t port, const std::string& text) {
  ConnectResult c = connectLocal(port);
  EXPECT_TRUE(c.fd) << "a connection over the limit must wait in the backlog, not be refused: "
                    << std::strerror(c.error);
  if (!c.fd) return Fd();
  EXPECT_TRUE(sendAll(c.fd.get(), text, Deadline(5s)));
  EXPECT_FALSE(readableBefore(c.fd.get(), Deadline(500ms)))
      << "a connection over the limit was served (or closed) at once";
  return std::move(c.fd);
}

// At global max_connections 2, a third connection waits unserved; when one of the first two
// closes, the proxy resumes accepting and the third is served.
TEST(LimitsTest, GlobalLimitHoldsExtraConnectionUntilOneCloses) {
  TestBackend backend({.mode = BackendMode::Echo});
  ProxyConfig cfg;
  cfg.maxConnections = 2;
  cfg.servers = {backend.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  Fd first = servedConnection(proxy.port(), "one");
  Fd second = servedConnection(proxy.port(), "two");
  ASSERT_TRUE(first && second);
  Fd third = heldConnection(proxy.port(), "three");
  ASSERT_TRUE(third);
  EXPECT_EQ(backend.accepted(), 2u) << "the proxy opened a backend connection over the limit";

  first.reset();
  EXPECT_EQ(recvExact(third.get(), 5, Deadline(5s)), "three")
      << "the held connection was not served after one closed";
}

// A frontend's own max_connections holds only that frontend: another frontend of the same
// process keeps serving, and the held connection is served once its frontend has room.
TEST(LimitsTest, FrontendLimitHoldsOnlyThatFrontend) {
  TestBackend backend({.mode = BackendMode::Echo});
  ProxyConfig cfg;
  cfg.frontends = {{.name = "limited", .maxConnections = 1}, {.name = "open"}};
  cfg.servers = {backend.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  ASSERT_NE(proxy.port("limited"), 0) << "no 'listening on' line for frontend 'limited'";
  ASSERT_NE(proxy.port("open"), 0) << "no 'listening on' line for frontend 'open'";

  Fd first = servedConnection(proxy.port("limited"), "one");
  ASSERT_TRUE(first);
  Fd held = heldConnection(proxy.port("limited"), "two");
  ASSERT_TRUE(held);
  Fd other1 = servedConnection(proxy.port("open"), "other1");
  Fd other2 = servedConnection(proxy.port("open"), "other2");
  EXPECT_TRUE(other1 && other2) << "another frontend must not be held by this one's limit";

  first.reset();
  EXPECT_EQ(recvExact(held.get(), 3, Deadline(5s)), "two")
      << "the held connection was not served after one closed";
}

class SlowReaderTest : public ::testing::TestWithParam<std::string> {};

// A backend pushing 64 MB to a client that reads nothing for 3 s can only get a bounded amount
// through (socket buffers plus the proxy's bounded per-connection buffer: < 32 MB), the proxy's
// memory stays bounded (RSS growth < 32 MB), and once the client reads, everything arrives.
TEST_P(SlowReaderTest, SlowReaderThrottlesWriterWithBoundedMemory) {
  constexpr std::uint64_t kTotal = 64ull << 20;  // twice the bound
  constexpr std::uint64_t kBound = 32ull << 20;
  TestBackend backend({.mode = BackendMode::Source, .bytes = kTotal, .seed = 11});
  ProxyConfig cfg;
  cfg.useRelay(GetParam());
  cfg.servers = {backend.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  const long rssBefore = proxy.rssKb();
  ASSERT_GT(rssBefore, 0);

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  ASSERT_TRUE(backend.waitAccepted(1, Deadline(5s)));
  std::this_thread::sleep_for(3s);  // the client reads nothing meanwhile

  const std::uint64_t pushed = backend.bytesSent();
  const long rssGrowthKb = proxy.rssKb() - rssBefore;
  // Informational, to see how much headroom the bounds leave on this machine.
  std::printf("[   INFO   ] pushed %.1f MB to a non-reading client; proxy RSS grew %.1f MB\n",
              static_cast<double>(pushed) / (1 << 20), static_cast<double>(rssGrowthKb) / 1024);
  EXPECT_GT(pushed, 0u) << "nothing was relayed at all";
  EXPECT_LT(pushed, kBound) << "the backend could push " << (pushed >> 20)
                            << " MB to a client that reads nothing";
  EXPECT_LT(rssGrowthKb, static_cast<long>(kBound >> 10))
      << "the proxy's RSS grew by " << rssGrowthKb / 1024 << " MB";

  const DrainResult r = drainUntilEnd(c.fd.get(), Deadline(120s));
  EXPECT_EQ(r.end, StreamEnd::Eof) << std::strerror(r.error);
  EXPECT_EQ(r.bytes, kTotal);
  c.fd.reset();
  auto rec = backend.waitFinished(0, Deadline(10s));
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->bytesSent, kTotal);
  EXPECT_EQ(Sha256::hex(r.sha), Sha256::hex(rec->sentSha));
}

INSTANTIATE_TEST_SUITE_P(Relay, SlowReaderTest, ::testing::Values("copy", "splice", "copy_single"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace ringlb::test
