#pragma once
// Every wait in the integration tests is bounded by a Deadline, so a broken proxy makes a test
// fail (with a message) instead of hanging until ctest's 300 s timeout.
#include <algorithm>
#include <chrono>

namespace ringlb::test {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class Deadline {
 public:
  explicit Deadline(Clock::duration fromNow) : at_(Clock::now() + fromNow) {}

  bool passed() const { return Clock::now() >= at_; }
  // Milliseconds left, rounded up and clamped to [0, INT_MAX/2], for poll().
  int pollMs() const {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(at_ - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
  }
  Clock::time_point at() const { return at_; }

 private:
  Clock::time_point at_;
};

}  // namespace ringlb::test
