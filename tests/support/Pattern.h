#pragma once
// A deterministic pseudo-random byte stream: byte i of stream `seed` is a pure function of
// (seed, i), so a sender and a verifier reproduce the same bytes whatever chunk sizes they use.
// Pseudo-random rather than a repeating pattern so that a relay that drops, duplicates or
// reorders a chunk cannot produce the same SHA-256 by accident.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace ringlb::test {

class Pattern {
 public:
  explicit Pattern(std::uint64_t seed) : seed_(seed) {}

  // Fills out with bytes [offset, offset + out.size()) of the stream.
  void fill(std::uint64_t offset, std::span<std::uint8_t> out) const {
    std::size_t i = 0;
    while (i < out.size()) {
      const std::uint64_t pos = offset + i;
      const std::uint64_t word = wordAt(pos / 8);
      const std::size_t skip = pos % 8;
      const std::size_t n = std::min<std::size_t>(8 - skip, out.size() - i);
      std::memcpy(out.data() + i, reinterpret_cast<const std::uint8_t*>(&word) + skip, n);
      i += n;
    }
  }

 private:
  // splitmix64 of (seed, index): fast, and well mixed even for consecutive seeds.
  std::uint64_t wordAt(std::uint64_t index) const {
    std::uint64_t z = seed_ + (index + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::uint64_t seed_;
};

}  // namespace ringlb::test
