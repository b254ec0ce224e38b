// A reset on one side is passed on as a reset, never softened into a clean FIN.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "support/Client.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

class ResetTest : public ::testing::TestWithParam<std::string> {};

// A client that closes with RST (SO_LINGER 0) makes the backend's connection fail with
// ECONNRESET, not end with EOF: the backend must not take a truncated request for a whole one.
TEST_P(ResetTest, ClientResetReachesBackendAsReset) {
  TestBackend backend({.mode = BackendMode::Echo});
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(ProxyConfig::relayTo(backend.address(), GetParam()).toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  ASSERT_TRUE(sendAll(c.fd.get(), "ping", Deadline(5s)));
  ASSERT_EQ(recvExact(c.fd.get(), 4, Deadline(5s)), "ping") << "no echo: not connected through";
  closeWithReset(c.fd);

  auto rec = backend.waitFinished(0, Deadline(5s));
  ASSERT_TRUE(rec.has_value()) << "the backend's connection stayed open after the client's RST";
  EXPECT_EQ(rec->readEnd, StreamEnd::Reset) << "errno " << rec->readError;
}

// A backend that closes with RST makes the client's connection fail with ECONNRESET.
TEST_P(ResetTest, BackendResetReachesClientAsReset) {
  TestBackend backend({.mode = BackendMode::ResetAfterRead, .bytes = 4});
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(ProxyConfig::relayTo(backend.address(), GetParam()).toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  ASSERT_TRUE(sendAll(c.fd.get(), "ping", Deadline(5s)));
  ASSERT_TRUE(backend.waitFinished(0, Deadline(5s)).has_value()) << "backend never got 4 bytes";

  const ReadResult r = readUntilEnd(c.fd.get(), Deadline(5s));
  EXPECT_EQ(r.end, StreamEnd::Reset) << "errno " << r.error;
  EXPECT_EQ(r.data, "");
}

INSTANTIATE_TEST_SUITE_P(Relay, ResetTest, ::testing::Values("copy", "splice", "copy_single"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace ringlb::test
