// A reset ends a stream, but not the bytes sent before it: whatever ringlb already received
// from the side that reset is still delivered to the other side, and only then does the other
// side see the reset (ECONNRESET), never a clean EOF.
//
// Each test makes ringlb hold a lot of the stream when the RST comes: the receiver does not
// read for a while (so megabytes queue up inside the proxy), and the sender resets only once
// its kernel saw every byte acknowledged, i.e. every byte has reached ringlb.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support/Client.h"
#include "support/DuplexClient.h"
#include "support/Pattern.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

constexpr std::uint64_t kBytes = 8ull << 20;
constexpr std::uint64_t kSeed = 41;

class ResetFlushTest : public ::testing::TestWithParam<std::string> {};

// A backend that sends 8 MiB and then resets: the client, reading late, gets all 8 MiB intact
// and then a reset.
TEST_P(ResetFlushTest, BackendResetAfterSendingReachesClientAfterAllBytes) {
  TestBackend backend({.mode = BackendMode::SourceThenReset, .bytes = kBytes, .seed = kSeed});
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(ProxyConfig::relayTo(backend.address(), GetParam()).toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  ASSERT_TRUE(backend.waitAccepted(1, Deadline(5s)));
  std::this_thread::sleep_for(2s);  // not reading: the stream piles up in the proxy

  const DrainResult r = drainUntilEnd(c.fd.get(), Deadline(60s));
  auto rec = backend.waitFinished(0, Deadline(30s));
  ASSERT_TRUE(rec.has_value()) << "the backend never finished";
  ASSERT_EQ(rec->bytesSent, kBytes) << "the backend could not send its stream";
  EXPECT_TRUE(rec->sendQueueDrained)
      << "the proxy never acknowledged the whole stream before the backend's reset";
  EXPECT_EQ(r.bytes, kBytes) << "bytes the proxy had received before the backend's RST were "
                                "dropped instead of delivered";
  EXPECT_EQ(Sha256::hex(r.sha), Sha256::hex(rec->sentSha)) << "the stream arrived damaged";
  EXPECT_EQ(r.end, StreamEnd::Reset)
      << "the backend's reset must reach the client as a reset (errno " << r.error << ")";
}

// A client that sends 8 MiB and then resets: the backend, reading late, gets all 8 MiB intact
// and then a reset.
TEST_P(ResetFlushTest, ClientResetAfterSendingReachesBackendAfterAllBytes) {
  TestBackend backend({.mode = BackendMode::Sink, .startDelay = 2s});
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(ProxyConfig::relayTo(backend.address(), GetParam()).toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  const Pattern pattern(kSeed);
  std::vector<std::uint8_t> chunk(256 * 1024);
  const Deadline sending(60s);
  for (std::uint64_t off = 0; off < kBytes; off += chunk.size()) {
    pattern.fill(off, chunk);
    int error = 0;
    ASSERT_TRUE(sendAll(c.fd.get(), chunk, sending, &error))
        << "sending failed at byte " << off << ": " << std::strerror(error);
  }
  ASSERT_TRUE(waitAcknowledged(c.fd.get(), Deadline(20s)))
      << "the proxy never acknowledged the whole stream";
  closeWithReset(c.fd);

  auto rec = backend.waitFinished(0, Deadline(60s));
  ASSERT_TRUE(rec.has_value()) << "the backend's connection never ended";
  EXPECT_EQ(rec->bytesReceived, kBytes) << "bytes the proxy had received before the client's "
                                           "RST were dropped instead of delivered";
  EXPECT_EQ(Sha256::hex(rec->receivedSha), Sha256::hex(patternSha(kSeed, kBytes)))
      << "the stream arrived damaged";
  EXPECT_EQ(rec->readEnd, StreamEnd::Reset)
      << "the client's reset must reach the backend as a reset (errno " << rec->readError << ")";
}

INSTANTIATE_TEST_SUITE_P(Relay, ResetFlushTest, ::testing::Values("copy", "splice", "auto", "copy_single"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace ringlb::test
