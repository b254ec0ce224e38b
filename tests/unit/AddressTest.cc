#include "ringlb/net/Address.h"

#include <gtest/gtest.h>

using ringlb::net::Address;

// IPv4 "ip:port" parses and prints back the same text.
TEST(AddressTest, ParsesAndPrintsIpv4) {
  auto a = Address::parse("10.0.0.11:8080");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->port(), 8080);
  EXPECT_EQ(a->toString(), "10.0.0.11:8080");
  EXPECT_EQ(a->ipBytes().size(), 4u);
}

// Bracketed IPv6 parses; the printed form is bracketed too.
TEST(AddressTest, ParsesAndPrintsIpv6) {
  auto a = Address::parse("[::1]:80");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->family(), AF_INET6);
  EXPECT_EQ(a->port(), 80);
  EXPECT_EQ(a->toString(), "[::1]:80");
  EXPECT_EQ(a->ipBytes().size(), 16u);
}

// Malformed inputs are rejected with a reason, never accepted half-parsed.
TEST(AddressTest, RejectsMalformed) {
  for (const char* bad : {"", "10.0.0.1", "10.0.0.1:", "10.0.0.1:65536", "10.0.0.1:8x",
                          "host.example:80", "::1:80", "[::1]80", "[::g]:80", "300.1.1.1:80"}) {
    std::string error;
    EXPECT_FALSE(Address::parse(bad, &error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}
