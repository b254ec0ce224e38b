#pragma once
// The 64-bit hashing the balancers are built on. Every value here is part of ringlb's contract
// with itself across a fleet: instances with the same hash_seed must map the same client to the
// same server, on any machine and across upgrades. So the functions are defined on bytes (read
// little-endian explicitly, never by casting), use only integer arithmetic, and never std::hash.
// Changing any constant remaps every client; tests/unit/HashTest.cc pins golden values for that.
#include <cstdint>
#include <span>
#include <string_view>

namespace ringlb::lb {

// splitmix64's finaliser (Stafford's "mix13" variant): a bijection on 64 bits with full
// avalanche, so every input bit flips each output bit with probability ~1/2.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Seeded hash of a byte string. Consumes 8-byte little-endian words, each folded in through
// mix64, with the length in both the first and the last step so "ab" and "ab\0" differ.
uint64_t hashBytes(std::span<const uint8_t> bytes, uint64_t seed);
uint64_t hashString(std::string_view text, uint64_t seed);

}  // namespace ringlb::lb
