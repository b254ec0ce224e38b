// Pipes for splicing share the descriptor budget with sessions: they never take more than a
// quarter of it, nor what the open sessions need.
#include <gtest/gtest.h>

#include "ringlb/proxy/Snapshot.h"

using ringlb::proxy::pipeAffordable;
using ringlb::proxy::SharedCounters;

// Under a quarter of the budget and with room left beside the sessions, a pipe may be taken.
TEST(DescriptorBudgetTest, PipesTakeAtMostAQuarterOfTheBudget) {
  SharedCounters counters(1);
  counters.descriptorBudget = 100;
  counters.active = 10;
  counters.pipesInUse = 24;
  EXPECT_TRUE(pipeAffordable(counters));
  counters.pipesInUse = 25;
  EXPECT_FALSE(pipeAffordable(counters)) << "pipes may hold at most a quarter of the budget";
}

// With the sessions using (nearly) the whole budget, no pipe is taken: the direction copies
// rather than push a session's descriptors past the limit.
TEST(DescriptorBudgetTest, NoPipeWhenSessionsFillTheBudget) {
  SharedCounters counters(1);
  counters.descriptorBudget = 100;
  counters.active = 95;
  counters.pipesInUse = 5;
  EXPECT_FALSE(pipeAffordable(counters));
  counters.pipesInUse = 4;
  EXPECT_TRUE(pipeAffordable(counters));
  counters.descriptorBudget = 0;
  counters.active = counters.pipesInUse = 0;
  EXPECT_FALSE(pipeAffordable(counters)) << "a limit with no room for sessions has none for pipes";
}
