#pragma once
// Which server's check is due next: one deadline per server in a min-heap. Pure: time is passed
// in (time points are values here; nothing reads a clock). Owned by the control loop that runs
// the checks; not thread-safe by design.
//
// Use: schedule(server, now + firstCheckDelay(...)) for each checked server; each loop turn, wait
// until nextDue(), then popDue(now) until it returns nullopt and start those checks; when a check
// ends, feed the state machine and schedule(server, now + jitter(*nextInterval(state), ...)). A
// server whose nextInterval() is nullopt (Maintenance, checks off) is cancel()ed or simply not
// rescheduled. A server has at most one pending deadline: scheduling again replaces it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace ringlb::health {

class CheckSchedule {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Servers are indexes 0..servers-1, none scheduled.
  explicit CheckSchedule(std::size_t servers);

  // Sets (or replaces) the server's deadline. Out-of-range indexes are ignored.
  void schedule(uint32_t server, TimePoint due);
  // Drops the server's deadline, if any.
  void cancel(uint32_t server);
  bool isScheduled(uint32_t server) const;
  std::size_t scheduledCount() const { return pending_; }

  // The earliest pending deadline, nullopt when nothing is scheduled.
  std::optional<TimePoint> nextDue();
  // A server whose deadline is at or before `now` (earliest first; ties by lower index), now
  // unscheduled; nullopt when none is due.
  std::optional<uint32_t> popDue(TimePoint now);

 private:
  struct Entry {
    TimePoint due;
    uint32_t server;
    uint32_t generation;  // stale unless equal to generation_[server] (lazy deletion)
  };
  static bool later(const Entry& a, const Entry& b);
  bool live(const Entry& e) const;
  void dropStaleTop();
  void compactIfBloated();

  std::vector<Entry> heap_;
  std::vector<uint32_t> generation_;  // bumped by every schedule/cancel/pop of the server
  std::vector<bool> scheduled_;
  std::size_t pending_ = 0;
};

}  // namespace ringlb::health
