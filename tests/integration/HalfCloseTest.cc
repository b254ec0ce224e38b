// A FIN from one side is forwarded as a half-close; the other direction keeps flowing.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "support/Client.h"
#include "support/DuplexClient.h"
#include "support/DuplexProtocol.h"
#include "support/Pattern.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

class HalfCloseTest : public ::testing::TestWithParam<std::string> {};

std::string patternBytes(std::uint64_t seed, std::size_t n) {
  std::string s(n, '\0');
  Pattern(seed).fill(0, std::span(reinterpret_cast<std::uint8_t*>(s.data()), n));
  return s;
}

// Client sends a request then FIN: the backend sees the whole request and EOF, and its response,
// written only after that EOF, reaches the client in full, followed by EOF.
TEST_P(HalfCloseTest, ClientFinReachesBackendWhileResponseStillFlows) {
  constexpr std::uint64_t kResponse = 1 << 20;
  constexpr std::size_t kRequest = 256 * 1024;
  TestBackend backend({.mode = BackendMode::RespondAfterEof, .bytes = kResponse, .seed = 7});
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(ProxyConfig::relayTo(backend.address(), GetParam()).toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  const std::string request = patternBytes(99, kRequest);
  ASSERT_TRUE(sendAll(c.fd.get(), request, Deadline(10s)));
  shutdownWrite(c.fd.get());

  const DrainResult response = drainUntilEnd(c.fd.get(), Deadline(20s));
  EXPECT_EQ(response.end, StreamEnd::Eof) << std::strerror(response.error);
  EXPECT_EQ(response.bytes, kResponse);
  EXPECT_EQ(Sha256::hex(response.sha), Sha256::hex(patternSha(7, kResponse)));

  auto rec = backend.waitFinished(0, Deadline(10s));
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->readEnd, StreamEnd::Eof) << "the backend must see the client's FIN as EOF";
  EXPECT_EQ(rec->bytesReceived, kRequest);
  EXPECT_EQ(Sha256::hex(rec->receivedSha), Sha256::hex(Sha256::of(request)));
}

// Backend sends its data then FIN first: the client sees it all and EOF, and what the client
// sends afterwards still reaches the backend in full, followed by EOF.
TEST_P(HalfCloseTest, BackendFinReachesClientWhileClientStillSends) {
  constexpr std::uint64_t kSeed = 5;
  constexpr std::uint64_t kGreeting = 128 * 1024;
  constexpr std::size_t kAfterFin = 1 << 20;
  TestBackend backend({.mode = BackendMode::Duplex});
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(ProxyConfig::relayTo(backend.address(), GetParam()).toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  ASSERT_TRUE(sendAll(c.fd.get(), duplex::encode({kSeed, kGreeting}), Deadline(10s)));
  const DrainResult greeting = drainUntilEnd(c.fd.get(), Deadline(20s));
  ASSERT_EQ(greeting.end, StreamEnd::Eof) << "the backend's FIN must reach the client";
  EXPECT_EQ(greeting.bytes, kGreeting);
  EXPECT_EQ(Sha256::hex(greeting.sha),
            Sha256::hex(patternSha(duplex::backendStreamSeed(kSeed), kGreeting)));

  const std::string late = patternBytes(duplex::clientStreamSeed(kSeed), kAfterFin);
  int error = 0;
  ASSERT_TRUE(sendAll(c.fd.get(), late, Deadline(10s), &error))
      << "sending after the backend's FIN failed: " << std::strerror(error);
  shutdownWrite(c.fd.get());

  auto rec = backend.waitSeed(kSeed, Deadline(10s));
  ASSERT_TRUE(rec.has_value()) << "the backend never saw the client's FIN";
  EXPECT_EQ(rec->readEnd, StreamEnd::Eof) << std::strerror(rec->readError);
  EXPECT_EQ(rec->bytesReceived, kAfterFin);
  EXPECT_EQ(Sha256::hex(rec->receivedSha), Sha256::hex(Sha256::of(late)));
}

INSTANTIATE_TEST_SUITE_P(Relay, HalfCloseTest, ::testing::Values("copy", "splice", "copy_single"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace ringlb::test
