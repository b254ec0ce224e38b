#include "ringlb/proxy/SessionTable.h"

#include <algorithm>
#include <vector>

namespace ringlb::proxy {

uint32_t SessionTable::allocate() {
  ++live_;
  if (!free_.empty()) {
    const uint32_t slot = free_.back();
    free_.pop_back();
    return slot;
  }
  sessions_.emplace_back();
  earliestQueued_.push_back(Clock::time_point::max());
  return static_cast<uint32_t>(sessions_.size() - 1);
}

void SessionTable::release(uint32_t slot) {
  Session& s = sessions_[slot];
  const uint32_t nextGeneration = s.generation + 1;
  s = Session{};
  s.generation = nextGeneration;
  earliestQueued_[slot] = Clock::time_point::max();  // the old session's entries are skipped
  free_.push_back(slot);
  --live_;
}

Session* SessionTable::lookup(uint32_t slot, uint32_t generation) {
  if (slot >= sessions_.size()) return nullptr;
  Session& s = sessions_[slot];
  if ((s.generation & io::UserData::kGenerationMask) != (generation & io::UserData::kGenerationMask) ||
      s.state == SessionState::Free) {
    return nullptr;
  }
  return &s;
}

void SessionTable::scheduleExpiry(uint32_t slot, Clock::time_point when) {
  Clock::time_point& earliest = earliestQueued_[slot];
  if (earliest <= when) return;
  earliest = when;
  expiries_.push(Expiry{when, slot, sessions_[slot].generation});
  // Entries of freed sessions stay until their deadline; with long timeouts and a high
  // connection rate they would pile up. When they dominate, keep one entry per queued live session:
  // its earliest (popped first), since the worker re-queues a deadline that moved later anyway.
  if (expiries_.size() > 4 * live_ + 1024) {
    std::vector<Expiry> kept;
    kept.reserve(live_);
    std::vector<bool> seen(sessions_.size(), false);
    while (!expiries_.empty()) {
      const Expiry e = expiries_.top();
      expiries_.pop();
      if (current(e) && !seen[e.slot]) {
        seen[e.slot] = true;
        kept.push_back(e);
      }
    }
    // The records follow what was kept: a dropped entry must not stand for a session's
    // deadline, or the pushes it makes redundant would leave the session with no entry at all.
    std::fill(earliestQueued_.begin(), earliestQueued_.end(), Clock::time_point::max());
    for (const Expiry& e : kept) earliestQueued_[e.slot] = e.when;
    expiries_ = decltype(expiries_)(std::greater<>(), std::move(kept));
  }
}

std::optional<Clock::time_point> SessionTable::nextExpiry() const {
  if (expiries_.empty()) return std::nullopt;
  return expiries_.top().when;
}

std::optional<uint32_t> SessionTable::popExpired(Clock::time_point now) {
  while (!expiries_.empty() && expiries_.top().when <= now) {
    const Expiry e = expiries_.top();
    expiries_.pop();
    if (!current(e)) continue;
    // Entries of a session come out in deadline order: this was its earliest, unless a later
    // one is the earliest recorded (an entry queued before the record was last cleared).
    if (earliestQueued_[e.slot] == e.when) earliestQueued_[e.slot] = Clock::time_point::max();
    return e.slot;
  }
  return std::nullopt;
}

}  // namespace ringlb::proxy
