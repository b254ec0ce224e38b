// Slow start's ramp: proportional to the time since the server came back, never 0 for a server
// with a weight, full weight at the end.
#include <gtest/gtest.h>

#include "ringlb/health/SlowStart.h"

using namespace ringlb::health;
using std::chrono::milliseconds;

TEST(SlowStartTest, RampsInProportionToElapsedTime) {
  EXPECT_EQ(rampWeight(100, milliseconds(0), milliseconds(10000)), 1u);
  EXPECT_EQ(rampWeight(100, milliseconds(1000), milliseconds(10000)), 10u);
  EXPECT_EQ(rampWeight(100, milliseconds(5000), milliseconds(10000)), 50u);
  EXPECT_EQ(rampWeight(100, milliseconds(9999), milliseconds(10000)), 100u);  // rounded up
  EXPECT_EQ(rampWeight(100, milliseconds(10000), milliseconds(10000)), 100u);
  EXPECT_EQ(rampWeight(100, milliseconds(60000), milliseconds(10000)), 100u);
}

TEST(SlowStartTest, NeverZeroForAWeightedServerAndZeroStaysZero) {
  EXPECT_EQ(rampWeight(3, milliseconds(1), milliseconds(30000)), 1u);
  EXPECT_EQ(rampWeight(0, milliseconds(5000), milliseconds(10000)), 0u);
}

TEST(SlowStartTest, OffMeansFullWeightAtOnce) {
  EXPECT_EQ(rampWeight(250, milliseconds(0), milliseconds(0)), 250u);
}

TEST(SlowStartTest, StepsAreTenthsButNotTooFrequent) {
  EXPECT_EQ(rampStep(milliseconds(30000)), milliseconds(3000));
  EXPECT_EQ(rampStep(milliseconds(2000)), milliseconds(500));
}
