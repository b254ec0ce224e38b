#pragma once
// When a server's next check is due: HAProxy's inter / fastinter / downinter rule, and the jitter
// that keeps the checks of many servers from running in lockstep. Pure: the caller passes the
// random values in (so tests are deterministic) and adds the delay to its own clock.
#include <chrono>
#include <cstdint>
#include <optional>

#include "ringlb/health/ServerState.h"

namespace ringlb::health {

// Copied in from the configuration by the wiring. A zero fast/down interval means "same as
// interval", as an unset fastinter/downinter does in HAProxy.
struct IntervalParams {
  std::chrono::milliseconds interval{2000};  // HAProxy's default inter
  std::chrono::milliseconds fastInterval{0};
  std::chrono::milliseconds downInterval{0};
  unsigned spreadPercent = 10;  // jitter(): each delay varies by up to this much (<= 50)
};

// The delay until the next check of a server in state `s`, or nullopt when none should run
// (checks off, or Maintenance). HAProxy's table:
//   UP (count 0)                     interval
//   going down (UP n/f) or going up  fastInterval (the verdict is pending: reach it sooner)
//   DOWN (count 0)                   downInterval
// Draining servers keep being checked: an operator undraining one wants its health known.
std::optional<std::chrono::milliseconds> nextInterval(const ServerState& s,
                                                      const IntervalParams& params);

// The delay before a server's very first check: uniformly in [0, interval), `unit` being a
// random value in [0, 1) (clamped into it; NaN reads as 0). Servers configured together then
// spread their checks over one interval instead of all checking at start-up.
std::chrono::milliseconds firstCheckDelay(std::chrono::milliseconds interval, double unit);

// `delay` scaled by a factor in [1 - spread, 1 + spread] (spread = spreadPercent / 100, capped at
// 0.5), `unit` in [0, 1) choosing where (0 -> 1 - spread, 0.5 -> 1, near 1 -> 1 + spread).
// Keeps servers that happened to align from staying aligned (HAProxy's spread-checks). A
// positive delay never becomes 0, so a check loop can never spin.
std::chrono::milliseconds jitter(std::chrono::milliseconds delay, double unit,
                                 unsigned spreadPercent = 10);

}  // namespace ringlb::health
