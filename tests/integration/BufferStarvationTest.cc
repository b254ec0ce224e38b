// Slow readers must not starve the other sessions of a worker. Received bytes wait in the
// worker's shared ring of provided buffers until they are sent; a client that stops reading
// would hold its buffer for as long as it stalls, and enough of them would leave none for
// anybody else. ringlb moves a stalled direction's bytes to a private buffer instead.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "support/Client.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

// With more stalled readers than ring buffers, a new client is still served promptly.
TEST(BufferStarvationTest, StalledReadersDoNotStarveOthers) {
  // Every connection gets 64 MB pushed at it as fast as it can take it.
  TestBackend backend({.mode = BackendMode::Source, .bytes = 64ull << 20});
  ProxyConfig cfg;
  cfg.relay = "copy";  // splice would sidestep the ring; the point is the copy path
  cfg.buffers = 16;
  cfg.servers = {backend.address()};
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  std::vector<Fd> stalled;
  for (int i = 0; i < 24; ++i) {  // 24 readers that never read, for 16 buffers
    ConnectResult c = connectLocal(proxy.port());
    ASSERT_TRUE(c.fd);
    stalled.push_back(std::move(c.fd));
  }
  ASSERT_TRUE(backend.waitAccepted(24, Deadline(5s)));
  std::this_thread::sleep_for(1s);  // let every stalled connection fill its socket buffers

  ConnectResult fresh = connectLocal(proxy.port());
  ASSERT_TRUE(fresh.fd);
  const auto got = recvExact(fresh.fd.get(), 1 << 20, Deadline(10s));
  EXPECT_TRUE(got.has_value() && got->size() == (1u << 20))
      << "a new client got nothing while others stalled: the buffer ring was pinned\n"
      << proxy.log();
}

}  // namespace
}  // namespace ringlb::test
