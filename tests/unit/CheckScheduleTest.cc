// The check schedule (health/CheckSchedule.h): earliest deadline first, one deadline per server.
#include "ringlb/health/CheckSchedule.h"

#include <gtest/gtest.h>

#include <vector>

using ringlb::health::CheckSchedule;
using std::chrono::milliseconds;

namespace {

const CheckSchedule::TimePoint kT0{};

std::vector<uint32_t> drain(CheckSchedule& s, CheckSchedule::TimePoint now) {
  std::vector<uint32_t> out;
  while (auto server = s.popDue(now)) out.push_back(*server);
  return out;
}

}  // namespace

// Servers come out in deadline order, ties by index, and only once due.
TEST(CheckScheduleTest, EarliestDeadlineFirst) {
  CheckSchedule s(4);
  s.schedule(0, kT0 + milliseconds{30});
  s.schedule(1, kT0 + milliseconds{10});
  s.schedule(2, kT0 + milliseconds{20});
  s.schedule(3, kT0 + milliseconds{10});
  EXPECT_EQ(s.nextDue(), kT0 + milliseconds{10});
  EXPECT_EQ(s.popDue(kT0 + milliseconds{9}), std::nullopt);
  EXPECT_EQ(drain(s, kT0 + milliseconds{20}), (std::vector<uint32_t>{1, 3, 2}));
  EXPECT_EQ(s.nextDue(), kT0 + milliseconds{30});
  EXPECT_EQ(drain(s, kT0 + milliseconds{100}), (std::vector<uint32_t>{0}));
  EXPECT_EQ(s.nextDue(), std::nullopt);
}

// Scheduling again replaces the deadline: the old one never fires.
TEST(CheckScheduleTest, RescheduleReplaces) {
  CheckSchedule s(2);
  s.schedule(0, kT0 + milliseconds{10});
  s.schedule(0, kT0 + milliseconds{50});
  s.schedule(1, kT0 + milliseconds{20});
  EXPECT_EQ(s.scheduledCount(), 2u);
  EXPECT_EQ(s.nextDue(), kT0 + milliseconds{20});
  EXPECT_EQ(drain(s, kT0 + milliseconds{40}), (std::vector<uint32_t>{1}));
  EXPECT_EQ(drain(s, kT0 + milliseconds{50}), (std::vector<uint32_t>{0}));
}

// A cancelled server is not returned; popping unschedules until scheduled again.
TEST(CheckScheduleTest, CancelAndPopUnschedule) {
  CheckSchedule s(2);
  s.schedule(0, kT0);
  s.schedule(1, kT0);
  s.cancel(0);
  EXPECT_FALSE(s.isScheduled(0));
  EXPECT_EQ(drain(s, kT0), (std::vector<uint32_t>{1}));
  EXPECT_FALSE(s.isScheduled(1));
  EXPECT_EQ(s.scheduledCount(), 0u);
  s.schedule(0, kT0 + milliseconds{5});
  EXPECT_EQ(drain(s, kT0 + milliseconds{5}), (std::vector<uint32_t>{0}));
  s.schedule(7, kT0);  // out of range: ignored
  EXPECT_EQ(s.scheduledCount(), 0u);
}

// Rescheduling many times keeps one live deadline per server (the heap is compacted).
TEST(CheckScheduleTest, ManyReschedulesKeepOneDeadline) {
  CheckSchedule s(3);
  for (int i = 0; i < 10000; ++i) s.schedule(static_cast<uint32_t>(i % 3), kT0 + milliseconds{i});
  EXPECT_EQ(s.scheduledCount(), 3u);
  EXPECT_EQ(s.nextDue(), kT0 + milliseconds{9997});
  EXPECT_EQ(drain(s, kT0 + milliseconds{20000}), (std::vector<uint32_t>{1, 2, 0}));
}
