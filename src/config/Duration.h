#pragma once
// Private to config/: duration parsing with the reason for a failure, so the loader can tell a
// typo ("5x") from a value that is well formed but too long ("30d").
#include <optional>
#include <string_view>

#include "ringlb/config/Config.h"

namespace ringlb::config::detail {

// The longest accepted duration: 2^31-1 ms (about 24.8 days), HAProxy's limit too. Bounding it
// here means every consumer may add a duration to a steady_clock time point (nanoseconds, where
// int64 overflows after ~292 years) or hand it to an int-millisecond API without checking.
inline constexpr Duration kMaxDuration{2147483647};

enum class DurationProblem { None, Malformed, TooLong };

struct DurationParse {
  std::optional<Duration> value;  // set iff problem == None
  DurationProblem problem = DurationProblem::None;
};

// Grammar: digits followed by an optional unit: ms, s, m, h, d. No unit means milliseconds.
// No sign, no spaces, no fractions, no compound forms ("1m30s"): each would be a guess.
DurationParse parseDurationChecked(std::string_view text);

}  // namespace ringlb::config::detail
