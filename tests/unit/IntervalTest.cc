// When checks are due (health/Interval.h): HAProxy's inter/fastinter/downinter choice, and the
// deterministic spreading of check times.
#include "ringlb/health/Interval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace ringlb::health;
using std::chrono::milliseconds;

namespace {

constexpr IntervalParams kParams{.interval = milliseconds{2000},
                                 .fastInterval = milliseconds{500},
                                 .downInterval = milliseconds{10000}};

ServerState state(AdminState admin, Health health, uint16_t count, bool checked = true) {
  return ServerState{.admin = admin, .health = health, .checked = checked, .count = count};
}

}  // namespace

// Fully UP: interval; going up or down: fastInterval; fully DOWN: downInterval.
TEST(IntervalTest, FollowsHaproxyTable) {
  EXPECT_EQ(nextInterval(state(AdminState::Active, Health::Up, 0), kParams), milliseconds{2000});
  EXPECT_EQ(nextInterval(state(AdminState::Active, Health::Up, 1), kParams), milliseconds{500});
  EXPECT_EQ(nextInterval(state(AdminState::Active, Health::Down, 1), kParams), milliseconds{500});
  EXPECT_EQ(nextInterval(state(AdminState::Active, Health::Down, 0), kParams), milliseconds{10000});
}

// Draining servers are still checked, on the same rule.
TEST(IntervalTest, DrainingIsStillChecked) {
  EXPECT_EQ(nextInterval(state(AdminState::Draining, Health::Up, 0), kParams), milliseconds{2000});
  EXPECT_EQ(nextInterval(state(AdminState::Draining, Health::Down, 0), kParams),
            milliseconds{10000});
}

// No checks run in Maintenance or with checks off.
TEST(IntervalTest, NoChecksInMaintenanceOrWhenOff) {
  EXPECT_FALSE(nextInterval(state(AdminState::Maintenance, Health::Down, 0), kParams));
  EXPECT_FALSE(nextInterval(state(AdminState::Maintenance, Health::Up, 0, false), kParams));
  EXPECT_FALSE(nextInterval(state(AdminState::Active, Health::Up, 0, false), kParams));
}

// Unset fast/down intervals fall back to interval, like HAProxy's unset fastinter/downinter.
TEST(IntervalTest, UnsetIntervalsFallBackToInterval) {
  const IntervalParams p{.interval = milliseconds{3000}};
  EXPECT_EQ(nextInterval(state(AdminState::Active, Health::Up, 2), p), milliseconds{3000});
  EXPECT_EQ(nextInterval(state(AdminState::Active, Health::Down, 0), p), milliseconds{3000});
}

// The first check lands in [0, interval), placed by the random value.
TEST(IntervalTest, FirstCheckSpreadsOverOneInterval) {
  EXPECT_EQ(firstCheckDelay(milliseconds{1000}, 0.0), milliseconds{0});
  EXPECT_EQ(firstCheckDelay(milliseconds{1000}, 0.25), milliseconds{250});
  EXPECT_EQ(firstCheckDelay(milliseconds{1000}, 0.9999999), milliseconds{999});
  // Out-of-range randoms are clamped, never land outside the interval.
  EXPECT_EQ(firstCheckDelay(milliseconds{1000}, 1.0), milliseconds{999});
  EXPECT_EQ(firstCheckDelay(milliseconds{1000}, 7.0), milliseconds{999});
  EXPECT_EQ(firstCheckDelay(milliseconds{1000}, -1.0), milliseconds{0});
  EXPECT_EQ(firstCheckDelay(milliseconds{1000}, std::numeric_limits<double>::quiet_NaN()),
            milliseconds{0});
  EXPECT_EQ(firstCheckDelay(milliseconds{0}, 0.5), milliseconds{0});
}

// Jitter scales by [0.9, 1.1] by default, 1.0 in the middle, deterministically.
TEST(IntervalTest, JitterStaysWithinTheSpread) {
  EXPECT_EQ(jitter(milliseconds{1000}, 0.0), milliseconds{900});
  EXPECT_EQ(jitter(milliseconds{1000}, 0.5), milliseconds{1000});
  EXPECT_EQ(jitter(milliseconds{1000}, 0.75), milliseconds{1050});
  EXPECT_EQ(jitter(milliseconds{1000}, 0.9999999), milliseconds{1100});
  EXPECT_EQ(jitter(milliseconds{1000}, 0.3), jitter(milliseconds{1000}, 0.3));
  for (double u = 0.0; u < 1.0; u += 0.01) {
    const auto d = jitter(milliseconds{2000}, u).count();
    EXPECT_GE(d, 1800);
    EXPECT_LE(d, 2200);
  }
}

// The spread is configurable, capped at 50%; 0 disables jitter; a positive delay never becomes 0.
TEST(IntervalTest, JitterSpreadLimits) {
  EXPECT_EQ(jitter(milliseconds{1000}, 0.0, 0), milliseconds{1000});
  EXPECT_EQ(jitter(milliseconds{1000}, 0.0, 90), milliseconds{500});
  EXPECT_EQ(jitter(milliseconds{1}, 0.0, 50), milliseconds{1});
  EXPECT_EQ(jitter(milliseconds{0}, 0.5), milliseconds{0});
}
