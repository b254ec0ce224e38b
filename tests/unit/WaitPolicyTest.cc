// WaitPolicy: how many completions a worker's next wait asks for.
#include "ringlb/proxy/WaitPolicy.h"

#include <gtest/gtest.h>

namespace ringlb::proxy {
namespace {

// Below both thresholds the next wait ends at the first completion: no added latency.
TEST(WaitPolicyTest, IdleOrLightLoadWaitsForOneCompletion) {
  const WaitPolicy policy;
  EXPECT_EQ(policy.expect(0, 0), 1u);
  EXPECT_EQ(policy.expect(policy.busyCompletions - 1, policy.bulkTurnBytes - 1), 1u);
}

// A busy turn predicts the next one: wait for as many completions, never more than maxBatch.
TEST(WaitPolicyTest, BusyTurnExpectsAsManyAgainUpToTheMaximum) {
  const WaitPolicy policy;
  EXPECT_EQ(policy.expect(policy.busyCompletions, 0), policy.busyCompletions);
  EXPECT_EQ(policy.expect(20, 0), 20u);
  EXPECT_EQ(policy.expect(policy.maxBatch * 3, 0), policy.maxBatch);
}

// A turn that delivered bulk data waits for two completions even when it reaped only one.
TEST(WaitPolicyTest, BulkTurnWaitsForTwoEvenWithFewCompletions) {
  const WaitPolicy policy;
  EXPECT_EQ(policy.expect(1, policy.bulkTurnBytes), 2u);
  EXPECT_EQ(policy.expect(0, 100ull << 20), 2u);
}

// Bulk raises the expectation to two; it never lowers a busy one, nor lifts it past maxBatch.
TEST(WaitPolicyTest, BulkNeverLowersABusyExpectation) {
  const WaitPolicy policy;
  EXPECT_EQ(policy.expect(30, policy.bulkTurnBytes), 30u);
  EXPECT_EQ(policy.expect(policy.maxBatch * 2, policy.bulkTurnBytes), policy.maxBatch);
}

// maxBatch bounds every answer, the bulk rule's included; zero still means one.
TEST(WaitPolicyTest, MaxBatchBelowTwoCapsTheBulkRule) {
  WaitPolicy policy;
  policy.maxBatch = 1;
  EXPECT_EQ(policy.expect(0, policy.bulkTurnBytes), 1u);
  policy.maxBatch = 0;
  EXPECT_EQ(policy.expect(50, policy.bulkTurnBytes), 1u);
}

// The thresholds are settings, not constants baked into the decision.
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
