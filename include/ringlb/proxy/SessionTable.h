#pragma once
// A worker's sessions: slots reused through a free list, a generation per slot so that a
// completion for a session that no longer exists is recognised and dropped, and the expiry queue
// (a min-heap of deadlines, re-pushed lazily by the worker when activity moved them).
//
// Contract: a slot's Session object stays at the same address for the table's life (a deque:
// references survive growth), so callers may hold a Session& across a loop turn; after
// release(slot) that object is a Free session of the next generation.
// Threading: the worker thread only.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <vector>

#include "ringlb/io/UserData.h"
#include "ringlb/proxy/Session.h"

namespace ringlb::proxy {

class SessionTable {
 public:
  // A slot whose session is Free (with a generation no earlier completion carries).
  uint32_t allocate();
  // Resets the slot's session to Free with the next generation and makes the slot reusable.
  void release(uint32_t slot);

  Session& at(uint32_t slot) { return sessions_[slot]; }
  const Session& at(uint32_t slot) const { return sessions_[slot]; }
  // The session a completion tagged (slot, generation as carried in user_data: its low 24 bits)
  // belongs to, or null if that session was freed since (or the slot never existed).
  Session* lookup(uint32_t slot, uint32_t generation);
  std::size_t live() const { return live_; }
  std::size_t slots() const { return sessions_.size(); }

  // --- expiry queue (Connecting and Relaying sessions) ---
  // Queues `when` as the session's deadline, unless an entry of the session at or before `when`
  // is queued already: that one comes out first and the caller re-queues the session's deadline
  // then (so a connect's deadline, queued first, usually stands for the relaying deadline too).
  // Entries of freed sessions are skipped when popped and purged once they dominate the queue,
  // so it stays proportional to the live sessions.
  void scheduleExpiry(uint32_t slot, Clock::time_point when);
  // The earliest queued deadline (possibly of a freed session: only a wake-up hint).
  std::optional<Clock::time_point> nextExpiry() const;
  // Pops the earliest entry due at `now` that still belongs to a connecting or relaying session;
  // returns its slot, or nullopt when nothing more is due. The caller re-queues it if activity
  // (or a new connect attempt) moved it.
  std::optional<uint32_t> popExpired(Clock::time_point now);
  std::size_t queuedExpiries() const { return expiries_.size(); }

 private:
  struct Expiry {
    Clock::time_point when;
    uint32_t slot;
    uint32_t generation;
    bool operator>(const Expiry& other) const { return when > other.when; }
  };
  bool current(const Expiry& e) const {
    const Session& s = sessions_[e.slot];
    return s.generation == e.generation &&
           (s.state == SessionState::Relaying || s.state == SessionState::Connecting);
  }

  std::deque<Session> sessions_;  // deque: references stay valid as it grows
  std::vector<uint32_t> free_;
  std::size_t live_ = 0;
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiries_;
  // Per slot: the earliest entry of its current session still queued (max() if none known).
  std::vector<Clock::time_point> earliestQueued_;
};

}  // namespace ringlb::proxy
