#include "ringlb/health/Interval.h"

#include <algorithm>
#include <cmath>

namespace ringlb::health {
namespace {

using std::chrono::milliseconds;

// A random value in [0, 1): out-of-range inputs are clamped, NaN reads as 0.
double unitInterval(double unit) {
  if (!(unit >= 0.0)) return 0.0;  // also catches NaN
  return std::min(unit, std::nextafter(1.0, 0.0));
}

milliseconds orInterval(milliseconds specific, milliseconds interval) {
  return specific.count() > 0 ? specific : interval;
}

}  // namespace

std::optional<milliseconds> nextInterval(const ServerState& s, const IntervalParams& params) {
  if (s.admin == AdminState::Maintenance) return std::nullopt;
  switch (phase(s)) {
    case Phase::Unchecked: return std::nullopt;
    case Phase::Up: return params.interval;
    case Phase::GoingDown:
    case Phase::GoingUp: return orInterval(params.fastInterval, params.interval);
    case Phase::Down: return orInterval(params.downInterval, params.interval);
  }
  return params.interval;
}

milliseconds firstCheckDelay(milliseconds interval, double unit) {
  if (interval.count() <= 0) return milliseconds{0};
  const auto offset = static_cast<int64_t>(unitInterval(unit) * static_cast<double>(interval.count()));
  return milliseconds{std::clamp<int64_t>(offset, 0, interval.count() - 1)};
}

milliseconds jitter(milliseconds delay, double unit, unsigned spreadPercent) {
  if (delay.count() <= 0) return milliseconds{0};
  const double spread = std::min(spreadPercent, 50u) / 100.0;
  const double factor = 1.0 - spread + 2.0 * spread * unitInterval(unit);
  const auto scaled = std::llround(factor * static_cast<double>(delay.count()));
  return milliseconds{std::max<int64_t>(scaled, 1)};
}

}  // namespace ringlb::health
