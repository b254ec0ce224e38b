#include "Duration.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <utility>

#include "ringlb/config/Loader.h"

namespace ringlb::config {
namespace detail {
namespace {

// Unit suffix -> milliseconds. Suffixes are matched exactly, so "ms" is never read as "m".
constexpr std::array<std::pair<std::string_view, int64_t>, 5> kUnits{{
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
}};

}  // namespace

DurationParse parseDurationChecked(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return {std::nullopt, DurationProblem::Malformed};

  const std::string_view unit = text.substr(digits);
  int64_t multiplier = 0;
  if (unit.empty()) {
    multiplier = 1;  // a bare number is milliseconds, as in HAProxy
  } else {
    for (const auto& [suffix, ms] : kUnits) {
      if (unit == suffix) multiplier = ms;
    }
    if (multiplier == 0) return {std::nullopt, DurationProblem::Malformed};
  }

  uint64_t count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, count);
  if (ec == std::errc::result_out_of_range) return {std::nullopt, DurationProblem::TooLong};
  if (ec != std::errc() || end != text.data() + digits) {
    return {std::nullopt, DurationProblem::Malformed};
  }
  const auto limit = static_cast<uint64_t>(kMaxDuration.count());
  if (count > limit / static_cast<uint64_t>(multiplier)) {
    return {std::nullopt, DurationProblem::TooLong};
  }
  return {Duration(static_cast<int64_t>(count) * multiplier), DurationProblem::None};
}

}  // namespace detail

std::optional<Duration> parseDuration(std::string_view text) {
  return detail::parseDurationChecked(text).value;
}

}  // namespace ringlb::config
