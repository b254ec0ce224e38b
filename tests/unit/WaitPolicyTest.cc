// WaitPolicy: how many completions a worker's next wait asks for, and how long it may hold one.
#include "ringlb/proxy/WaitPolicy.h"

#include <gtest/gtest.h>

namespace ringlb::proxy {
namespace {

// Below both thresholds the next wait ends at the first completion: no added latency.
TEST(WaitPolicyTest, IdleOrLightLoadWaitsForOneCompletion) {
  const WaitPolicy policy;
  EXPECT_EQ(policy.next(0, 0).batch, 1u);
  EXPECT_EQ(policy.next(policy.busyCompletions - 1, policy.bulkTurnBytes - 1).batch, 1u);
}

// A busy turn predicts the next one: wait for as many completions, never more than maxBatch.
TEST(WaitPolicyTest, BusyTurnExpectsAsManyAgainUpToTheMaximum) {
  const WaitPolicy policy;
  EXPECT_EQ(policy.next(policy.busyCompletions, 0).batch, policy.busyCompletions);
  EXPECT_EQ(policy.next(20, 0).batch, 20u);
  EXPECT_EQ(policy.next(policy.maxBatch * 3, 0).batch, policy.maxBatch);
}

// A turn that delivered bulk data waits for two completions even when it reaped only one.
TEST(WaitPolicyTest, BulkTurnWaitsForTwoEvenWithFewCompletions) {
  const WaitPolicy policy;
  EXPECT_EQ(policy.next(1, policy.bulkTurnBytes).batch, 2u);
  EXPECT_EQ(policy.next(0, 100ull << 20).batch, 2u);
}

// Bulk raises the expectation to two; it never lowers a busy one, nor lifts it past maxBatch.
TEST(WaitPolicyTest, BulkNeverLowersABusyExpectation) {
  const WaitPolicy policy;
  EXPECT_EQ(policy.next(30, policy.bulkTurnBytes).batch, 30u);
  EXPECT_EQ(policy.next(policy.maxBatch * 2, policy.bulkTurnBytes).batch, policy.maxBatch);
}

// maxBatch bounds every answer, the bulk rule's included; zero still means one.
TEST(WaitPolicyTest, MaxBatchBelowTwoCapsTheBulkRule) {
  WaitPolicy policy;
  policy.maxBatch = 1;
  EXPECT_EQ(policy.next(0, policy.bulkTurnBytes).batch, 1u);
  policy.maxBatch = 0;
  EXPECT_EQ(policy.next(50, policy.bulkTurnBytes).batch, 1u);
}

// The thresholds are settings, not constants baked into the decision.
TEST(WaitPolicyTest, ThresholdsAreSettings) {
  WaitPolicy policy;
  policy.bulkTurnBytes = 1;
  policy.busyCompletions = 2;
  policy.maxBatch = 4;
  EXPECT_EQ(policy.next(0, 1).batch, 2u);
  EXPECT_EQ(policy.next(3, 0).batch, 3u);
  EXPECT_EQ(policy.next(9, 0).batch, 4u);
}

// A wait for one completion holds nothing: an idle or lightly loaded worker adds no latency.
TEST(WaitPolicyTest, ASingleCompletionWaitHoldsNothing) {
  const WaitPolicy policy;
  EXPECT_EQ(policy.next(0, 0).holdUsec, 0u);
  EXPECT_EQ(policy.next(policy.busyCompletions - 1, policy.bulkTurnBytes - 1).holdUsec, 0u);
  WaitPolicy capped;
  capped.maxBatch = 1;
  EXPECT_EQ(capped.next(50, capped.bulkTurnBytes).holdUsec, 0u);
}

// A busy turn holds for holdUsec; a bulk turn for the longer bulkHoldUsec, busy or not, since
// each later wake-up then finds more bytes to move.
TEST(WaitPolicyTest, BulkTurnsHoldLongerThanBusyOnes) {
  const WaitPolicy policy;
  ASSERT_GT(policy.bulkHoldUsec, policy.holdUsec);
  EXPECT_EQ(policy.next(policy.busyCompletions, 0).holdUsec, policy.holdUsec);
  EXPECT_EQ(policy.next(1, policy.bulkTurnBytes).holdUsec, policy.bulkHoldUsec);
  EXPECT_EQ(policy.next(30, policy.bulkTurnBytes).holdUsec, policy.bulkHoldUsec);
}

// The holds are settings too; a bulk hold set below the busy one never shortens a busy turn's.
TEST(WaitPolicyTest, HoldsAreSettings) {
  WaitPolicy policy;
  policy.holdUsec = 10;
  policy.bulkHoldUsec = 0;
  EXPECT_EQ(policy.next(30, 0).holdUsec, 10u);
  EXPECT_EQ(policy.next(30, policy.bulkTurnBytes).holdUsec, 10u);
  policy.holdUsec = 0;
  EXPECT_EQ(policy.next(30, policy.bulkTurnBytes).holdUsec, 0u);
}

}  // namespace
}  // namespace ringlb::proxy
