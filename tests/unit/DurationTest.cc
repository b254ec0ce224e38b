#include <gtest/gtest.h>

#include <optional>
#include <string_view>

#include "ringlb/config/Loader.h"

using ringlb::config::Duration;
using ringlb::config::parseDuration;

namespace {

struct DurationCase {
  std::string_view text;
  std::optional<long long> ms;  // nullopt: must be rejected
};

// Every accepted unit converts to milliseconds exactly; a bare number is milliseconds.
TEST(DurationTest, AcceptsEachUnitAndBareMilliseconds) {
  const DurationCase cases[] = {
      {"0", 0},           {"1500", 1500},        {"250ms", 250},
      {"5s", 5000},       {"2m", 120000},        {"1h", 3600000},
      {"1d", 86400000},   {"0s", 0},             {"007s", 7000},
      // The largest accepted value in each unit.
      {"2147483647", 2147483647}, {"2147483647ms", 2147483647}, {"2147483s", 2147483000},
      {"35791m", 2147460000},     {"596h", 2145600000},         {"24d", 2073600000},
  };
  for (const auto& c : cases) {
    const auto parsed = parseDuration(c.text);
    ASSERT_TRUE(parsed.has_value()) << c.text;
    EXPECT_EQ(parsed->count(), *c.ms) << c.text;
  }
}

// Signs, spaces, fractions, compound forms, unknown or misspelt units and empty text are
// rejected rather than guessed at.
TEST(DurationTest, RejectsMalformedText) {
  for (const std::string_view bad :
       {"", "s", "ms", "-1s", "+1s", "-5", " 5s", "5s ", "5 s", "1.5s", "1m30s", "5x", "5S", "5sec",
        "5us", "0x10", "5msx", "abc", "1e3"}) {
    EXPECT_FALSE(parseDuration(bad).has_value()) << '"' << bad << '"';
  }
}

// Durations beyond 2^31-1 ms (about 24.8 days, HAProxy's limit) or beyond 64 bits are rejected,
// so no consumer can overflow adding one to a clock.
TEST(DurationTest, RejectsDurationsBeyondTheLimit) {
  for (const std::string_view bad :
       {"2147483648", "2147483648ms", "2147484s", "35792m", "597h", "25d",
        "99999999999999999999999", "18446744073709551616d"}) {
    EXPECT_FALSE(parseDuration(bad).has_value()) << bad;
  }
}

}  // namespace
