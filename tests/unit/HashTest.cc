#include "ringlb/lb/Hash.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "ringlb/lb/Balancer.h"

using namespace ringlb::lb;

namespace {
constexpr std::array<uint8_t, 4> kIpv4{10, 0, 0, 1};
constexpr std::array<uint8_t, 18> kIpv6Port{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x1f, 0x90};
}  // namespace

// The key hash is pinned: changing it would remap every client of every instance in a fleet
// that upgrades one instance at a time. Update these values only on purpose.
TEST(HashTest, GoldenValuesArePinned) {
  EXPECT_EQ(hashClientKey(kIpv4, kDefaultHashSeed), 0x5d18f22e21792944ULL);
  EXPECT_EQ(hashClientKey(kIpv6Port, kDefaultHashSeed), 0x7bb36ad0200ad946ULL);
  EXPECT_EQ(hashString("web-1", kDefaultHashSeed), 0x3e001968df774d0fULL);
  EXPECT_EQ(hashClientKey({}, 0), 0x48218226ff3cd4bfULL);
}

// The seed changes the hash: instances with different hash_seed disagree on purpose.
TEST(HashTest, SeedChangesTheHash) {
  EXPECT_NE(hashClientKey(kIpv4, 1), hashClientKey(kIpv4, 2));
}

// Trailing zero bytes are not lost in the zero-padded tail: the length is hashed too.
TEST(HashTest, LengthIsPartOfTheKey) {
  const std::array<uint8_t, 2> shorter{1, 2};
  const std::array<uint8_t, 3> longer{1, 2, 0};
  EXPECT_NE(hashBytes(shorter, 7), hashBytes(longer, 7));
}

// One flipped input bit flips about half of the output bits (avalanche), for every input bit.
TEST(HashTest, EveryInputBitAvalanches) {
  const uint64_t base = hashClientKey(kIpv6Port, kDefaultHashSeed);
  for (std::size_t bit = 0; bit < kIpv6Port.size() * 8; ++bit) {
    auto flipped = kIpv6Port;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    const int changed = __builtin_popcountll(base ^ hashClientKey(flipped, kDefaultHashSeed));
    EXPECT_GT(changed, 12) << bit;
    EXPECT_LT(changed, 52) << bit;
  }
}
