// Honest truncation: when ringlb itself ends a stream whose source has not ended (the shutdown
// grace ran out, an inactivity timeout struck mid-transfer), the peer must see a reset. A FIN
// would tell it that the stream was complete when it was cut short.
#include <signal.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "support/Client.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

// A 2 MiB response trickling over ~3 s, cut short by the end of a 500 ms shutdown grace,
// reaches the client as a reset, not as an EOF.
TEST(TruncationTest, GraceExpiryMidTransferResetsClient) {
  constexpr std::uint64_t kTotal = 2ull << 20;
  TestBackend backend({.mode = BackendMode::Source, .bytes = kTotal, .seed = 5,
                       .chunk = 32 * 1024, .pace = 50ms});
  ProxyConfig cfg = ProxyConfig::relayTo(backend.address(), "auto");
  cfg.shutdownGrace = "500ms";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  const auto first = recvExact(c.fd.get(), 64 * 1024, Deadline(10s));
  ASSERT_TRUE(first.has_value()) << "the response never started";
  ASSERT_TRUE(proxy.signal(SIGTERM));

  const DrainResult rest = drainUntilEnd(c.fd.get(), Deadline(20s));
  const std::uint64_t received = first->size() + rest.bytes;
  ASSERT_LT(received, kTotal) << "the whole response arrived: the grace did not cut it, so the "
                                 "test proves nothing (the backend trickles too fast?)";
  EXPECT_EQ(rest.end, StreamEnd::Reset)
      << "a response cut short after " << received << " of " << kTotal
      << " bytes must end in a reset, not " << toString(rest.end);
  EXPECT_TRUE(proxy.waitExit(10s).has_value()) << "ringlb did not exit after its grace";
}

// A backend that sends 64 KiB and then falls silent (no FIN) past the 1 s server timeout:
// the client gets the 64 KiB and then a reset, not an EOF.
TEST(TruncationTest, ServerTimeoutMidTransferResetsClient) {
  constexpr std::uint64_t kSent = 64 * 1024;
  TestBackend backend({.mode = BackendMode::SourceThenHold, .bytes = kSent, .seed = 6});
  ProxyConfig cfg = ProxyConfig::relayTo(backend.address(), "auto");
  cfg.serverTimeout = "1s";  // long enough for the 64 KiB to get through on a loaded machine
  cfg.clientTimeout = "60s";  // only the server side's silence may end this session
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  const DrainResult r = drainUntilEnd(c.fd.get(), Deadline(20s));
  EXPECT_EQ(r.bytes, kSent) << "the bytes sent before the silence must all arrive";
  EXPECT_EQ(r.end, StreamEnd::Reset)
      << "the backend never ended its stream: the timeout cut it, so the client must see a "
         "reset, not " << toString(r.end);
}

// A client that sends 64 KiB and then falls silent (no FIN) past the 1 s client timeout:
// the backend gets the 64 KiB and then a reset, not an EOF.
TEST(TruncationTest, ClientTimeoutMidTransferResetsBackend) {
  constexpr std::uint64_t kSent = 64 * 1024;
  TestBackend backend({.mode = BackendMode::Sink});
  ProxyConfig cfg = ProxyConfig::relayTo(backend.address(), "auto");
  cfg.clientTimeout = "1s";  // long enough for the 64 KiB to get through on a loaded machine
  cfg.serverTimeout = "60s";  // only the client side's silence may end this session
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  ASSERT_TRUE(sendAll(c.fd.get(), std::string(kSent, 'x'), Deadline(10s)));
  auto rec = backend.waitFinished(0, Deadline(20s));
  ASSERT_TRUE(rec.has_value()) << "the client timeout never ended the session";
  EXPECT_EQ(rec->bytesReceived, kSent) << "the bytes sent before the silence must all arrive";
  EXPECT_EQ(rec->readEnd, StreamEnd::Reset)
      << "the client never ended its stream: the timeout cut it, so the backend must see a "
         "reset, not " << toString(rec->readEnd);
}

}  // namespace
}  // namespace ringlb::test
