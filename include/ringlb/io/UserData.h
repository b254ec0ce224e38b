#pragma once
// What travels in an SQE's user_data: a small op tag, a slot index and the slot's generation.
// Never a pointer: a completion can arrive after its session died, and a stale generation is how
// the dispatcher recognises and drops it.
//   bits 63..56 op | 55..32 generation (24 bits) | 31..0 slot
#include <cstdint>

namespace ringlb::io {

struct UserData {
  uint8_t op = 0;
  uint32_t generation = 0;  // only the low 24 bits travel
  uint32_t slot = 0;

  static constexpr uint32_t kGenerationMask = 0xffffff;

  constexpr uint64_t encode() const {
    return (uint64_t{op} << 56) | (uint64_t{generation & kGenerationMask} << 32) | slot;
  }
  static constexpr UserData decode(uint64_t raw) {
    return UserData{static_cast<uint8_t>(raw >> 56),
                    static_cast<uint32_t>((raw >> 32) & kGenerationMask),
                    static_cast<uint32_t>(raw & 0xffffffffu)};
  }
};

}  // namespace ringlb::io
