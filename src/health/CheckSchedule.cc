#include "ringlb/health/CheckSchedule.h"

#include <algorithm>

namespace ringlb::health {

CheckSchedule::CheckSchedule(std::size_t servers)
    : generation_(servers, 0), scheduled_(servers, false) {}

bool CheckSchedule::later(const Entry& a, const Entry& b) {
  if (a.due != b.due) return a.due > b.due;
  return a.server > b.server;  // ties: lower index first, so the order is deterministic
}

bool CheckSchedule::live(const Entry& e) const {
  return scheduled_[e.server] && generation_[e.server] == e.generation;
}

void CheckSchedule::schedule(uint32_t server, TimePoint due) {
  if (server >= generation_.size()) return;
  if (!scheduled_[server]) ++pending_;
  scheduled_[server] = true;
  heap_.push_back({due, server, ++generation_[server]});
  std::push_heap(heap_.begin(), heap_.end(), later);
  compactIfBloated();
}

void CheckSchedule::cancel(uint32_t server) {
  if (server >= generation_.size() || !scheduled_[server]) return;
  scheduled_[server] = false;
  ++generation_[server];
  --pending_;
}

bool CheckSchedule::isScheduled(uint32_t server) const {
  return server < scheduled_.size() && scheduled_[server];
}

std::optional<CheckSchedule::TimePoint> CheckSchedule::nextDue() {
  dropStaleTop();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().due;
}

std::optional<uint32_t> CheckSchedule::popDue(TimePoint now) {
  dropStaleTop();
  if (heap_.empty() || heap_.front().due > now) return std::nullopt;
  const uint32_t server = heap_.front().server;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  heap_.pop_back();
  cancel(server);
  return server;
}

void CheckSchedule::dropStaleTop() {
  while (!heap_.empty() && !live(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
}

// Rescheduling leaves the replaced entries in the heap until they surface. Servers rescheduled
// over and over (admin commands, passive results) must not grow it without bound: past twice the
// live entries, rebuild it from the live ones.
void CheckSchedule::compactIfBloated() {
  if (heap_.size() <= 2 * pending_ + 16) return;
  std::erase_if(heap_, [this](const Entry& e) { return !live(e); });
  std::make_heap(heap_.begin(), heap_.end(), later);
}

}  // namespace ringlb::health
