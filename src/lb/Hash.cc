// Byte hashing for client keys and server identities (see include/ringlb/lb/Hash.h for why it is
// hand-written). Pure functions: callable from any thread.
#include "ringlb/lb/Hash.h"

#include "ringlb/lb/Balancer.h"

namespace ringlb::lb {
namespace {

constexpr uint64_t kLengthMul = 0x9e3779b97f4a7c15ULL;  // golden ratio: spreads small lengths
constexpr uint64_t kWordMul = 0xc2b2ae3d27d4eb4fULL;    // xxh64's prime 2

uint64_t loadLittleEndian(std::span<const uint8_t> bytes) {
  uint64_t word = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) word |= uint64_t{bytes[i]} << (8 * i);
  return word;
}

}  // namespace

uint64_t hashBytes(std::span<const uint8_t> bytes, uint64_t seed) {
  const uint64_t length = bytes.size();
  uint64_t h = mix64(seed ^ ((length + 1) * kLengthMul));  // +1: no fixed point at 0
  while (bytes.size() >= 8) {
    h = mix64(h ^ (loadLittleEndian(bytes.first(8)) * kWordMul));
    bytes = bytes.subspan(8);
  }
  if (!bytes.empty()) h = mix64(h ^ (loadLittleEndian(bytes) * kWordMul));  // zero-padded tail
  return mix64(h ^ length);
}

uint64_t hashString(std::string_view text, uint64_t seed) {
  return hashBytes({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, seed);
}

uint64_t hashClientKey(std::span<const uint8_t> key, uint64_t seed) { return hashBytes(key, seed); }

}  // namespace ringlb::lb
