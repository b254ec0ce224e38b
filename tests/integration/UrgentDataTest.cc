// TCP urgent data (MSG_OOB) in the middle of a spliced stream. splice stops at the urgent mark
// and never skips it, so a proxy that only retries splice spins forever on that socket. ringlb
// must keep relaying the ordinary bytes, complete and in order (the urgent byte itself is not
// part of the stream, as with recv() without SO_OOBINLINE).
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/Client.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/Sha256.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

class UrgentDataTest : public ::testing::TestWithParam<std::string> {};

// Ordinary bytes around an urgent byte all reach the backend, in order, and the session ends
// normally instead of stalling or ending early.
TEST_P(UrgentDataTest, StreamSurvivesUrgentByte) {
  TestBackend backend({.mode = BackendMode::Sink});
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(ProxyConfig::relayTo(backend.address(), GetParam()).toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd);
  std::string before(256 * 1024, 'b');
  std::string after(256 * 1024, 'a');
  for (std::size_t i = 0; i < before.size(); ++i) before[i] = static_cast<char>('a' + i % 26);
  for (std::size_t i = 0; i < after.size(); ++i) after[i] = static_cast<char>('A' + i % 26);
  ASSERT_TRUE(sendAll(c.fd.get(), before, Deadline(10s)));
  ASSERT_EQ(::send(c.fd.get(), "!", 1, MSG_OOB | MSG_NOSIGNAL), 1);
  ASSERT_TRUE(sendAll(c.fd.get(), after, Deadline(10s)));
  shutdownWrite(c.fd.get());

  auto rec = backend.waitFinished(0, Deadline(15s));
  ASSERT_TRUE(rec.has_value()) << "the stream stalled after the urgent byte\n" << proxy.log();
  EXPECT_EQ(rec->bytesReceived, before.size() + after.size());
  EXPECT_EQ(rec->receivedSha, Sha256::of(before + after));
  EXPECT_EQ(rec->readEnd, StreamEnd::Eof);
}

INSTANTIATE_TEST_SUITE_P(Relay, UrgentDataTest, ::testing::Values("splice", "copy", "auto",
                                           "copy_single"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace ringlb::test
