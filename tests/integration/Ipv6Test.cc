// IPv6 on either side: a frontend on [::1], servers on [::1], and the mixes with IPv4.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <thread>

#include "support/Client.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

// A client connecting over ::1 is relayed to the (IPv4) server and gets its echo.
TEST(Ipv6Test, RelaysFromIpv6Listener) {
  TestBackend backend({.mode = BackendMode::Echo});
  ProxyConfig cfg;
  cfg.frontends = {FrontendSpec{.name = "web6", .listen = "[::1]:0"}};
  cfg.servers = {backend.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  ASSERT_EQ(proxy.listeners().size(), 1u);
  const net::Address& address = proxy.listeners()[0].address;
  ASSERT_EQ(address.family(), AF_INET6) << address.toString();

  ConnectResult c = connectTcp(address, 5s);
  ASSERT_TRUE(c.fd) << address.toString();
  ASSERT_TRUE(sendAll(c.fd.get(), "over six", Deadline(5s)));
  EXPECT_EQ(recvExact(c.fd.get(), 8, Deadline(5s)), "over six");
}

class Ipv6ServerTest : public ::testing::TestWithParam<std::string> {};

// A server on [::1] is reached (AF_INET6 connect) from an IPv4 listener, and a stream of 2 MB
// each way arrives intact through both relay mechanisms.
TEST_P(Ipv6ServerTest, RelaysToIpv6Server) {
  TestBackend backend({.mode = BackendMode::Echo, .ipv6 = true});
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(ProxyConfig::relayTo(backend.address(), GetParam()).toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  std::string payload(2 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 + i / 7);
  std::thread writer([&] {
    sendAll(c.fd.get(), payload, Deadline(30s));
    ::shutdown(c.fd.get(), SHUT_WR);
  });
  const ReadResult r = readUntilEnd(c.fd.get(), Deadline(30s), payload.size() + 1);
  writer.join();
  EXPECT_EQ(r.end, StreamEnd::Eof) << "errno " << r.error;
  EXPECT_EQ(r.data.size(), payload.size());
  EXPECT_TRUE(r.data == payload) << "the echoed stream differs from what was sent";
}

INSTANTIATE_TEST_SUITE_P(Relay, Ipv6ServerTest, ::testing::Values("copy", "splice"),
                         [](const auto& p) { return p.param; });

// IPv6 end to end with rendezvous, which hashes the client's IPv6 address: the same client
// address reaches the same one of two [::1] servers on every connection.
TEST(Ipv6Test, RendezvousOverIpv6IsSticky) {
  TestBackend a({.mode = BackendMode::Echo, .ipv6 = true});
  TestBackend b({.mode = BackendMode::Echo, .ipv6 = true});
  ProxyConfig cfg;
  cfg.balance = "rendezvous";
  cfg.frontends = {FrontendSpec{.name = "web6", .listen = "[::1]:0"}};
  cfg.servers = {a.address(), b.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  ASSERT_EQ(proxy.listeners().size(), 1u);
  const net::Address& address = proxy.listeners()[0].address;

  constexpr int kConnections = 10;  // a per-connection key would split them: p = 2^-9
  for (int i = 0; i < kConnections; ++i) {
    ConnectResult c = connectTcp(address, 5s);
    ASSERT_TRUE(c.fd) << address.toString();
    ASSERT_TRUE(sendAll(c.fd.get(), "six", Deadline(5s)));
    ASSERT_EQ(recvExact(c.fd.get(), 3, Deadline(5s)), "six");
  }
  EXPECT_TRUE((a.accepted() == kConnections && b.accepted() == 0) ||
              (a.accepted() == 0 && b.accepted() == kConnections))
      << "one client address was split: " << a.accepted() << " / " << b.accepted();
}

}  // namespace
}  // namespace ringlb::test
