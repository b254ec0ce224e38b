// WaitPolicy: how many completions a worker's next wait asks for.
#include "ringlb/proxy/WaitPolicy.h"

#include <gtest/gtest.h>

namespace ringlb::proxy {
namespace {

TEST(WaitPolicyTest, IdleOrLightLoadWaitsForOneCompletion) {
  const WaitPolicy policy;
  EXPECT_EQ(policy.expect(0, 0), 1u);
  EXPECT_EQ(policy.expect(policy.busyCompletions - 1, policy.bulkTurnBytes - 1), 1u);
}

TEST(WaitPolicyTest, BusyTurnExpectsAsManyAgainUpToTheMaximum) {
  const WaitPolicy policy;
  EXPECT_EQ(policy.expect(policy.busyCompletions, 0), policy.busyCompletions);
  EXPECT_EQ(policy.expect(20, 0), 20u);
  EXPECT_EQ(policy.expect(policy.maxBatch * 3, 0), policy.maxBatch);
}

TEST(WaitPolicyTest, BulkTurnWaitsForTwoEvenWithFewCompletions) {
  const WaitPolicy policy;
  EXPECT_EQ(policy.expect(1, policy.bulkTurnBytes), 2u);
  EXPECT_EQ(policy.expect(0, 100ull << 20), 2u);
}

TEST(WaitPolicyTest, BulkNeverLowersABusyExpectation) {
  const WaitPolicy policy;
  EXPECT_EQ(policy.expect(30, policy.bulkTurnBytes), 30u);
}

TEST(WaitPolicyTest, ThresholdsAreSettings) {
  WaitPolicy policy;
  policy.bulkTurnBytes = 1;
  policy.busyCompletions = 2;
  policy.maxBatch = 4;
  EXPECT_EQ(policy.expect(0, 1), 2u);
  EXPECT_EQ(policy.expect(3, 0), 3u);
  EXPECT_EQ(policy.expect(9, 0), 4u);
}

}  // namespace
}  // namespace ringlb::proxy
