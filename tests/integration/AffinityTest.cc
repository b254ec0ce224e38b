// Rendezvous hashing seen from outside: a client (by source address) always reaches the same
// server, and two independent ringlb instances with the same configuration agree on every
// client without sharing any state (what lets instances sit side by side behind ECMP).
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/Client.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

constexpr std::size_t kServers = 4;
constexpr int kClients = 24;  // source addresses 127.0.0.2 .. 127.0.0.25

struct Farm {
  std::array<std::unique_ptr<TestBackend>, kServers> backends;
  ProxyConfig config;
  Farm() {
    config.balance = "rendezvous";
    config.workers = 2;  // both workers must agree too: the table is shared, not per worker
    for (auto& b : backends) {
      b = std::make_unique<TestBackend>(BackendOptions{.mode = BackendMode::Echo});
      config.servers.push_back(b->address());
    }
  }
  std::array<std::size_t, kServers> acceptedCounts() const {
    std::array<std::size_t, kServers> out{};
    for (std::size_t i = 0; i < kServers; ++i) out[i] = backends[i]->accepted();
    return out;
  }
};

// Connects from `sourceIp` through the proxy, proves the relay works with an echo, and returns
// the index of the backend that accepted the connection (or -1).
int serverReached(Farm& farm, std::uint16_t proxyPort, const std::string& sourceIp) {
  const auto before = farm.acceptedCounts();
  ConnectResult c = connectLocal(proxyPort, 5s, sourceIp);
  if (!c.fd) return -1;
  if (!sendAll(c.fd.get(), "affinity", Deadline(5s))) return -1;
  if (recvExact(c.fd.get(), 8, Deadline(5s)) != "affinity") return -1;
  const auto after = farm.acceptedCounts();
  int reached = -1;
  for (std::size_t i = 0; i < kServers; ++i) {
    if (after[i] != before[i]) {
      if (reached != -1) return -1;  // two servers moved: not attributable
      reached = static_cast<int>(i);
    }
  }
  return reached;
}

std::string sourceIp(int client) { return "127.0.0." + std::to_string(client + 2); }

// Every client address reaches one server, the same one on every connection, and the clients
// spread over more than one server (otherwise the test would prove nothing).
TEST(AffinityTest, SameSourceAddressAlwaysReachesSameServer) {
  Farm farm;
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(farm.config.toYaml()));
  std::set<int> used;
  for (int client = 0; client < kClients; ++client) {
    const int first = serverReached(farm, proxy.port(), sourceIp(client));
    ASSERT_GE(first, 0) << "client " << sourceIp(client) << " was not served";
    for (int again = 0; again < 3; ++again) {
      EXPECT_EQ(serverReached(farm, proxy.port(), sourceIp(client)), first)
          << "client " << sourceIp(client) << " moved on connection " << again + 2;
    }
    used.insert(first);
  }
  EXPECT_GE(used.size(), 2u) << "all clients hashed to one server";
}

// Two ringlb processes built from the same configuration (same hash_seed, same servers) send
// every client to the same server.
TEST(AffinityTest, TwoInstancesWithSameConfigAgreeOnEveryClient) {
  Farm farm;
  RingLbProcess first(RINGLB_BINARY);
  RingLbProcess second(RINGLB_BINARY);
  ASSERT_TRUE(first.start(farm.config.toYaml()));
  ASSERT_TRUE(second.start(farm.config.toYaml()));
  ASSERT_NE(first.port(), second.port());
  for (int client = 0; client < kClients; ++client) {
    const int a = serverReached(farm, first.port(), sourceIp(client));
    const int b = serverReached(farm, second.port(), sourceIp(client));
    ASSERT_GE(a, 0) << sourceIp(client);
    EXPECT_EQ(a, b) << "instances disagree on client " << sourceIp(client);
  }
}

}  // namespace
}  // namespace ringlb::test
