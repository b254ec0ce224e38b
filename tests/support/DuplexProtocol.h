#pragma once
// The wire protocol between a DuplexClient and a TestBackend in Duplex mode:
//   client -> backend: a 16-byte header {seed, length} (little-endian u64s), then an arbitrary
//                      stream (Pattern(clientStreamSeed(seed))) until the client's FIN;
//   backend -> client: `length` bytes of Pattern(backendStreamSeed(seed)), then the backend's FIN.
// Both directions flow at the same time; each end hashes what it sent and what it received, so
// a test compares the four digests end to end. The seed identifies the connection.
#include <array>
#include <cstdint>
#include <cstring>

namespace ringlb::test::duplex {

inline constexpr std::size_t kHeaderSize = 16;

struct Header {
  std::uint64_t seed = 0;
  std::uint64_t length = 0;  // bytes the backend sends back
};

inline std::array<std::uint8_t, kHeaderSize> encode(const Header& h) {
  std::array<std::uint8_t, kHeaderSize> out{};
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<std::uint8_t>(h.seed >> (8 * i));
    out[8 + i] = static_cast<std::uint8_t>(h.length >> (8 * i));
  }
  return out;
}

inline Header decode(const std::array<std::uint8_t, kHeaderSize>& in) {
  Header h;
  for (int i = 0; i < 8; ++i) {
    h.seed |= std::uint64_t{in[i]} << (8 * i);
    h.length |= std::uint64_t{in[8 + i]} << (8 * i);
  }
  return h;
}

// Distinct streams per direction: an echoing relay must not pass for a duplex one.
inline std::uint64_t clientStreamSeed(std::uint64_t seed) { return seed ^ 0xc11e47c11e47c11eULL; }
inline std::uint64_t backendStreamSeed(std::uint64_t seed) { return seed ^ 0xbac4e4dbac4e4d00ULL; }

}  // namespace ringlb::test::duplex
