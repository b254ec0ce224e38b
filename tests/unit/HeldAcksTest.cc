// HeldAcks: a session held during one turn is released at the end of the next turn, not before,
// and exactly once.
#include "ringlb/proxy/HeldAcks.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace ringlb::proxy {
namespace {

using Released = std::vector<std::pair<uint32_t, uint32_t>>;

Released endTurn(HeldAcks& acks) {
  Released out;
  acks.endTurn([&](uint32_t slot, uint32_t generation) { out.emplace_back(slot, generation); });
  return out;
}

// The turn of the connect ends without releasing: the client's bytes have not been submitted
// for yet. The next turn's end releases, with the generation it was held under.
TEST(HeldAcksTest, ReleasedAtTheEndOfTheTurnAfterTheHold) {
  HeldAcks acks;
  EXPECT_FALSE(acks.due());
  acks.hold(3, 7);
  acks.hold(9, 1);
  EXPECT_FALSE(acks.due()) << "nothing is due before the turn of the hold ends";
  EXPECT_TRUE(endTurn(acks).empty());
  EXPECT_TRUE(acks.due()) << "the turn after the hold must not sleep long";
  EXPECT_EQ(endTurn(acks), (Released{{3, 7}, {9, 1}}));
  EXPECT_FALSE(acks.due());
  EXPECT_TRUE(endTurn(acks).empty()) << "released twice";
}

// Holds of consecutive turns keep their own schedule.
TEST(HeldAcksTest, ConsecutiveTurnsAreReleasedInTurn) {
  HeldAcks acks;
  acks.hold(1, 1);
  EXPECT_TRUE(endTurn(acks).empty());
  acks.hold(2, 1);  // during the turn that releases slot 1
  EXPECT_EQ(endTurn(acks), (Released{{1, 1}}));
  EXPECT_TRUE(acks.due());
  EXPECT_EQ(endTurn(acks), (Released{{2, 1}}));
  EXPECT_FALSE(acks.due());
}

}  // namespace
}  // namespace ringlb::proxy
