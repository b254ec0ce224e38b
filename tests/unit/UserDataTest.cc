#include <gtest/gtest.h>

#include "ringlb/io/UserData.h"

using ringlb::io::UserData;

// Every field survives encode/decode at its extremes.
TEST(UserDataTest, RoundTripsAllFields) {
  const UserData in{0xab, 0xfedcba, 0xffffffffu};
  const UserData out = UserData::decode(in.encode());
  EXPECT_EQ(out.op, 0xab);
  EXPECT_EQ(out.generation, 0xfedcbau);
  EXPECT_EQ(out.slot, 0xffffffffu);
}

// Generations wrap at 24 bits without bleeding into the op tag.
TEST(UserDataTest, GenerationIsMaskedTo24Bits) {
  const UserData in{3, 0x1000001, 7};
  const UserData out = UserData::decode(in.encode());
  EXPECT_EQ(out.op, 3);
  EXPECT_EQ(out.generation, 1u);
  EXPECT_EQ(out.slot, 7u);
}

// user_data 0 is reserved for ring-internal completions: no real tag may encode to it.
TEST(UserDataTest, RealTagsNeverEncodeToZero) {
  EXPECT_NE((UserData{1, 0, 0}.encode()), 0u);
}
