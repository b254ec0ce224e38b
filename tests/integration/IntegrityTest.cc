// Bytes go through the proxy unchanged, in both directions at once, under concurrency.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support/DuplexClient.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

class IntegrityTest : public ::testing::TestWithParam<std::string> {};

// 64 concurrent connections each moving ~3 MB both ways at once: every byte arrives, in order,
// in each direction (client-received == backend-sent, backend-received == client-sent), and
// each direction ends with a clean FIN.
TEST_P(IntegrityTest, ConcurrentBidirectionalTransfersArriveIntact) {
  TestBackend backend({.mode = BackendMode::Duplex});
  ProxyConfig cfg;
  cfg.workers = 2;
  cfg.useRelay(GetParam());
  cfg.servers = {backend.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  constexpr int kConnections = 64;
  constexpr std::uint64_t kBytes = 3 << 20;
  std::vector<DuplexOptions> options(kConnections);
  std::vector<DuplexResult> results(kConnections);
  std::vector<std::thread> clients;
  for (int i = 0; i < kConnections; ++i) {
    // Sizes differ a little per connection so chunk and buffer boundaries fall differently.
    options[i] = {.seed = 1000 + static_cast<std::uint64_t>(i),
                  .sendBytes = kBytes + 7919 * static_cast<std::uint64_t>(i),
                  .receiveBytes = kBytes + 6007 * static_cast<std::uint64_t>(i),
                  .chunk = 16 * 1024 + 1000 * static_cast<std::size_t>(i % 7),
                  .timeout = 120s};
    clients.emplace_back([&, i] { results[i] = runDuplex(proxy.port(), options[i]); });
  }
  for (auto& t : clients) t.join();

  int failed = 0;
  for (int i = 0; i < kConnections && failed < 5; ++i) {
    SCOPED_TRACE("connection " + std::to_string(i));
    const DuplexResult& r = results[i];
    const bool hadFailure = ::testing::Test::HasFailure();
    ASSERT_EQ(r.connectError, 0) << std::strerror(r.connectError);
    EXPECT_TRUE(r.sendOk) << "client send: " << std::strerror(r.sendError);
    EXPECT_EQ(r.received.end, StreamEnd::Eof) << std::strerror(r.received.error);
    EXPECT_EQ(r.received.bytes, options[i].receiveBytes);
    auto rec = backend.waitSeed(options[i].seed, Deadline(30s));
    ASSERT_TRUE(rec.has_value()) << "the backend never finished this connection";
    EXPECT_EQ(rec->bytesSent, options[i].receiveBytes);
    EXPECT_EQ(Sha256::hex(r.received.sha), Sha256::hex(rec->sentSha)) << "backend -> client";
    EXPECT_EQ(rec->readEnd, StreamEnd::Eof) << std::strerror(rec->readError);
    EXPECT_EQ(rec->bytesReceived, r.bytesSent);
    EXPECT_EQ(Sha256::hex(rec->receivedSha), Sha256::hex(r.sentSha)) << "client -> backend";
    if (!hadFailure && ::testing::Test::HasFailure()) ++failed;  // don't print 64 times
  }
}

INSTANTIATE_TEST_SUITE_P(Relay, IntegrityTest, ::testing::Values("splice", "copy", "auto",
                                           "copy_single"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace ringlb::test
