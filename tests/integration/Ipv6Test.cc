// IPv6 on the client side: a frontend on [::1] relays to an IPv4 backend. (IPv6 servers go
// through the same connect path with an AF_INET6 socket; the test backends are IPv4 only.)
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ringlb::test
