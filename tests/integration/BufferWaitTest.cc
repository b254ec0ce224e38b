// Waiting for a receive buffer is ringlb's own doing, not the peers' idleness. With far more
// busy sessions than provided buffers, sessions take turns with the buffers; a session whose
// turn is slow to come must not be timed out for inactivity while its peers are ready and
// willing.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "support/Client.h"
#include "support/FanoutSource.h"
#include "support/DuplexClient.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

// Clients downloading at once through one worker with two 1 KiB buffers, under 1 s client and
// server timeouts: every download completes, intact, with an EOF, and the buffers go round
// fairly: every client gets its first bytes before any client gets its last. Sessions take
// turns with the two buffers for the whole transfer (relay: copy), which lasts longer than the
// timeouts while no peer is ever idle. The backend (FanoutSource: one epoll thread, precomputed
// bytes) and the client (one poll loop, memcmp) do no per-byte work worth mentioning, so the
// proxy, not the test, sets the pace even on a loaded machine or under ASan.
// The old relay woke every waiting direction for each returned buffer: a few sessions kept
// winning the race and finished while most had received nothing, and those were closed at the
// timeout (in about half the rounds here: 4 to 12 of 32 complete, the rest with nothing but a
// FIN).
// One round: `clients` connections at once, each drained and compared with the backend's bytes.
// Returns the failures (empty: every download complete, intact, EOF, and none overtook another's
// start).
std::string downloadAtOnce(std::uint16_t port, const FanoutSource& backend, int clients) {
  std::vector<Fd> owned;
  std::vector<int> fds;
  for (int i = 0; i < clients; ++i) {
    ConnectResult c = connectLocal(port);
    if (!c.fd) return "client " + std::to_string(i) + ": " + std::strerror(c.error);
    fds.push_back(c.fd.get());
    owned.push_back(std::move(c.fd));
  }
  const auto started = Clock::now();
  const std::span<const std::uint8_t> expected = backend.content();
  std::vector<bool> intact(fds.size(), true);
  std::vector<std::uint64_t> offset(fds.size(), 0);
  // Order of events as the client saw them: each download's first bytes and its last.
  std::size_t events = 0;
  std::size_t lastFirstBytes = 0;
  std::vector<std::size_t> completion(fds.size(), SIZE_MAX);
  const std::vector<DrainResult> results = drainEachWith(
      fds, Deadline(120s), UINT64_MAX, [&](std::size_t i, std::span<const std::uint8_t> bytes) {
        const std::uint64_t at = offset[i];
        if (at == 0) lastFirstBytes = events++;
        offset[i] += bytes.size();
        intact[i] = intact[i] && offset[i] <= expected.size() &&
                    std::memcmp(expected.data() + at, bytes.data(), bytes.size()) == 0;
        if (offset[i] == expected.size()) completion[i] = events++;
      });
  const auto elapsedMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();

  int complete = 0;
  int empty = 0;
  std::map<std::string, int> ends;  // how the incomplete ones ended
  for (std::size_t i = 0; i < results.size(); ++i) {
    const DrainResult& r = results[i];
    if (r.bytes == expected.size() && r.end == StreamEnd::Eof && intact[i]) {
      ++complete;
      continue;
    }
    empty += r.bytes == 0;
    ++ends[std::string(toString(r.end)) + (r.bytes == expected.size() ? " (all bytes)" : "") +
           (intact[i] ? "" : " (corrupt)")];
  }
  std::string summary;
  for (const auto& [end, n] : ends) summary += " " + std::to_string(n) + " x " + end + ";";
  std::printf("[   INFO   ] %d of %d downloads complete in %lld ms; %d got nothing;%s\n", complete,
              clients, static_cast<long long>(elapsedMs), empty, summary.c_str());
  // Downloads that completed before the last one had started overtook it.
  const auto overtaking = std::count_if(completion.begin(), completion.end(),
                                        [&](std::size_t e) { return e < lastFirstBytes; });
  std::string failures;
  if (complete != clients) {
    failures += std::to_string(clients - complete) + " well-behaved clients were not served in " +
                "full (" + std::to_string(empty) + " got nothing at all); they ended:" + summary;
  }
  if (overtaking != 0) {
    failures += " " + std::to_string(overtaking) + " downloads completed before every client " +
                "had received its first bytes: the buffers did not go round in turn";
  }
  return failures;
}

TEST(BufferWaitTest, WaitingForABufferIsNotIdleness) {
  constexpr int kClients = 32;
  // The start, when every session asks at once, is where an unfair relay shows: a few rounds.
  constexpr int kRounds = 4;
  FanoutSource backend(4ull << 20, 77);
  ASSERT_TRUE(backend.valid());
  ProxyConfig cfg = ProxyConfig::relayTo(backend.address(), "copy");
  cfg.workers = 1;
  cfg.buffers = 2;
  cfg.bufferSize = 1024;
  cfg.clientTimeout = "1s";
  cfg.serverTimeout = "1s";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));
  for (int round = 0; round < kRounds; ++round) {
    const std::string failures = downloadAtOnce(proxy.port(), backend, kClients);
    ASSERT_EQ(failures, "") << "round " << round;
  }
}

}  // namespace
}  // namespace ringlb::test
