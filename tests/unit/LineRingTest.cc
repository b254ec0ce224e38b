// The access log's SPSC line ring: all-or-nothing pushes, drops counted, lines never split at the
// wrap, and, under two threads, every line delivered intact and in order or counted as dropped.
#include <gtest/gtest.h>

#include <atomic>
#include <charconv>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ringlb/log/LineRing.h"

namespace ringlb::log {
namespace {

// Every chunk one drain() hands its sink.
std::vector<std::string> drainChunks(LineRing& ring) {
  std::vector<std::string> chunks;
  ring.drain([&](std::string_view chunk) { chunks.emplace_back(chunk); });
  return chunks;
}

using Chunks = std::vector<std::string>;

// Lines pushed come back as one chunk, oldest first, and only once.
TEST(LineRingTest, DrainDeliversWhatWasPushedOnce) {
  LineRing ring(64);
  EXPECT_TRUE(ring.push("a\n"));
  EXPECT_TRUE(ring.push("bb\n"));
  std::size_t delivered = 0;
  Chunks chunks;
  delivered = ring.drain([&](std::string_view chunk) { chunks.emplace_back(chunk); });
  EXPECT_EQ(chunks, (Chunks{"a\nbb\n"}));
  EXPECT_EQ(delivered, 5u);
  EXPECT_EQ(ring.drain([](std::string_view) { ADD_FAILURE() << "nothing left to drain"; }), 0u);
  EXPECT_EQ(ring.dropped(), 0u);
}

// An empty push stores nothing and is no drop.
TEST(LineRingTest, EmptyPushIsNothing) {
  LineRing ring(8);
  EXPECT_TRUE(ring.push(""));
  EXPECT_EQ(drainChunks(ring), Chunks{});
  EXPECT_EQ(ring.dropped(), 0u);
}

// A push that does not fit is refused whole and counted; the ring keeps what it had, and takes
// lines again once drained.
TEST(LineRingTest, FullRingDropsWholeLinesAndCountsThem) {
  LineRing ring(8);
  EXPECT_TRUE(ring.push("1234\n"));
  EXPECT_FALSE(ring.push("abcd\n"));
  EXPECT_FALSE(ring.push("efgh\n"));
  EXPECT_TRUE(ring.push("xy\n"));  // exactly the 3 bytes left
  EXPECT_FALSE(ring.push("z"));
  EXPECT_EQ(ring.dropped(), 3u);
  EXPECT_EQ(drainChunks(ring), (Chunks{"1234\nxy\n"}));
  EXPECT_TRUE(ring.push("abcd\n"));
  EXPECT_EQ(drainChunks(ring), (Chunks{"abcd\n"}));
  EXPECT_EQ(ring.dropped(), 3u);
}

// A line as long as the capacity fits an empty ring at its start; a longer one never fits.
TEST(LineRingTest, LineLongerThanCapacityIsDropped) {
  LineRing ring(8);
  EXPECT_FALSE(ring.push("123456789"));
  EXPECT_EQ(ring.dropped(), 1u);
  EXPECT_TRUE(ring.push("1234567\n"));
  EXPECT_EQ(drainChunks(ring), (Chunks{"1234567\n"}));
}

// A line that does not fit before the buffer's end goes to its start whole; the consumer gets it
// as its own chunk, never in two pieces, and the bytes before the wrap as the chunk before.
TEST(LineRingTest, WrapNeverSplitsALine) {
  LineRing ring(10);
  ASSERT_TRUE(ring.push("aaa\n"));  // [0, 4)
  ASSERT_EQ(drainChunks(ring), (Chunks{"aaa\n"}));
  ASSERT_TRUE(ring.push("bbbb\n"));  // [4, 9)
  ASSERT_TRUE(ring.push("cc\n"));    // 1 byte left before the end: stored at [0, 3)
  EXPECT_EQ(drainChunks(ring), (Chunks{"bbbb\n", "cc\n"}));
  EXPECT_EQ(ring.dropped(), 0u);
}

// The gap a wrapping line leaves counts as used until the consumer passes it: a line that would
// fit in the free bytes is refused when it fits only with its gap.
TEST(LineRingTest, GapCountsAsUsedSpace) {
  LineRing ring(10);
  ASSERT_TRUE(ring.push("aaa\n"));   // [0, 4)
  ASSERT_TRUE(ring.push("bbb\n"));   // [4, 8)
  ASSERT_EQ(drainChunks(ring), (Chunks{"aaa\nbbb\n"}));
  ASSERT_TRUE(ring.push("ccc\n"));   // 2 left before the end: gap [8, 10), line [0, 4)
  // 10 - 2 (gap) - 4 = 4 bytes free, all at [4, 8): a 5-byte line does not fit, 4 bytes do.
  EXPECT_FALSE(ring.push("dddd\n"));
  EXPECT_TRUE(ring.push("ddd\n"));
  EXPECT_EQ(ring.dropped(), 1u);
  EXPECT_EQ(drainChunks(ring), (Chunks{"ccc\nddd\n"}));
}

// A wrapping line on a ring whose consumer sits exactly at the gap: the gap is skipped and only
// the line comes out.
TEST(LineRingTest, ConsumerAtTheGapSkipsIt) {
  LineRing ring(10);
  ASSERT_TRUE(ring.push("aaaa\n"));  // [0, 5)
  ASSERT_TRUE(ring.push("bbb\n"));   // [5, 9)
  ASSERT_EQ(drainChunks(ring), (Chunks{"aaaa\nbbb\n"}));
  ASSERT_TRUE(ring.push("cccc\n"));  // gap [9, 10), line [0, 5)
  EXPECT_EQ(drainChunks(ring), (Chunks{"cccc\n"}));
}

// Lines that end exactly at the buffer's end leave no gap; an older lap's gap is not taken for
// this lap's, so the bytes up to the end all come out.
TEST(LineRingTest, ExactFitToTheEndAfterAnEarlierGap) {
  LineRing ring(10);
  ASSERT_TRUE(ring.push("aaaaaa\n"));  // [0, 7)
  ASSERT_EQ(drainChunks(ring), (Chunks{"aaaaaa\n"}));
  ASSERT_TRUE(ring.push("bbb\n"));     // gap at 7 (lap 0), line [10, 14)
  ASSERT_EQ(drainChunks(ring), (Chunks{"bbb\n"}));
  ASSERT_TRUE(ring.push("ccccc\n"));   // [14, 20): ends exactly at lap 1's end
  ASSERT_TRUE(ring.push("dd\n"));      // [20, 23)
  EXPECT_EQ(drainChunks(ring), (Chunks{"ccccc\n", "dd\n"}));
}

// Many laps with wraps at every offset: every line comes out whole and in order. Lines are at
// most 45 bytes and the ring is drained every 2 lines, so 2 lines and a gap always fit.
TEST(LineRingTest, ManyLapsSingleThread) {
  LineRing ring(151);  // a prime, so wrap offsets vary
  std::string expected;
  std::string got;
  for (int i = 0; i < 5000; ++i) {
    const std::string line =
        std::to_string(i) + std::string(static_cast<std::size_t>(i % 41), 'x') + "\n";
    ASSERT_TRUE(ring.push(line)) << i;
    expected += line;
    if (i % 2 == 1) {
      ring.drain([&](std::string_view chunk) {
        ASSERT_FALSE(chunk.empty());
        ASSERT_EQ(chunk.back(), '\n');
        got += chunk;
      });
    }
  }
  ring.drain([&](std::string_view chunk) { got += chunk; });
  EXPECT_EQ(got, expected);
}

// ---- two threads --------------------------------------------------------------------------------

// Line `seq` of the stress test: "<seq> <payload>\n", the payload's length and bytes a function of
// seq, so the consumer can check each line on its own.
std::size_t payloadLength(uint64_t seq) {
  return static_cast<std::size_t>((seq * 2654435761u) % 301);
}
char payloadByte(uint64_t seq) { return static_cast<char>('a' + seq % 26); }

// Checks one line (without its '\n'); returns its sequence number, or UINT64_MAX if it is not
// exactly what was pushed.
uint64_t checkLine(std::string_view line) {
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos) return UINT64_MAX;
  uint64_t seq = 0;
  const auto [end, ec] = std::from_chars(line.data(), line.data() + space, seq);
  if (ec != std::errc() || end != line.data() + space) return UINT64_MAX;
  const std::string_view payload = line.substr(space + 1);
  if (payload.size() != payloadLength(seq)) return UINT64_MAX;
  for (const char c : payload) {
    if (c != payloadByte(seq)) return UINT64_MAX;
  }
  return seq;
}

// A producer pushes numbered lines of random lengths as fast as it can while a consumer drains
// concurrently into a small ring (so it wraps and fills constantly). Every line the producer got
// `true` for arrives exactly once, intact, in order and whole within one chunk; every `false` is
// counted in dropped(). No timing is asserted: how many are dropped depends on the scheduler.
TEST(LineRingTest, TwoThreadStress) {
  constexpr uint64_t kLines = 300000;
  LineRing ring(4096);
  std::vector<char> pushed(kLines, 0);  // written by the producer, read after join
  std::atomic<bool> producerDone{false};

  std::thread producer([&] {
    std::string line;
    for (uint64_t seq = 0; seq < kLines; ++seq) {
      line = std::to_string(seq);
      line += ' ';
      line.append(payloadLength(seq), payloadByte(seq));
      line += '\n';
      pushed[seq] = ring.push(line) ? 1 : 0;
      // After a drop, let the consumer catch up: most lines then get through, and the ring is
      // seen both full and empty.
      if (pushed[seq] == 0) std::this_thread::yield();
    }
    producerDone.store(true, std::memory_order_release);
  });

  std::vector<uint64_t> received;
  received.reserve(kLines);
  bool allValid = true;
  bool chunksWhole = true;
  const auto sink = [&](std::string_view chunk) {
    if (chunk.empty() || chunk.back() != '\n') chunksWhole = false;
    while (!chunk.empty()) {
      const std::size_t newline = chunk.find('\n');
      if (newline == std::string_view::npos) {
        chunksWhole = false;
        return;
      }
      const uint64_t seq = checkLine(chunk.substr(0, newline));
      if (seq == UINT64_MAX) allValid = false;
      received.push_back(seq);
      chunk.remove_prefix(newline + 1);
    }
  };
  for (;;) {
    const bool done = producerDone.load(std::memory_order_acquire);
    if (ring.drain(sink) == 0) {
      if (done) break;  // nothing left after the producer's last push
      std::this_thread::yield();
    }
  }
  producer.join();
  ring.drain(sink);

  EXPECT_TRUE(allValid);
  EXPECT_TRUE(chunksWhole);
  std::vector<uint64_t> expected;
  for (uint64_t seq = 0; seq < kLines; ++seq) {
    if (pushed[seq] != 0) expected.push_back(seq);
  }
  EXPECT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected) << "lines lost, repeated or out of order";
  EXPECT_EQ(ring.dropped(), kLines - expected.size());
}

}  // namespace
}  // namespace ringlb::log
