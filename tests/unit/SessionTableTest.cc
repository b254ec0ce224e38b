// The session table: slot reuse with a new generation, stale-completion lookup, and the expiry
// queue that skips freed sessions and stays proportional to the live ones.
#include "ringlb/proxy/SessionTable.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using ringlb::proxy::Clock;
using ringlb::proxy::SessionState;
using ringlb::proxy::SessionTable;

namespace {
// A new session of `table` in `state`; its slot.
uint32_t sessionIn(SessionTable& table, SessionState state) {
  const uint32_t slot = table.allocate();
  table.at(slot).state = state;
  return slot;
}
}  // namespace

// A released slot is reused, but with a new generation: a completion tagged with the old one
// must find nothing.
TEST(SessionTableTest, ReusedSlotGetsANewGeneration) {
  SessionTable table;
  const uint32_t slot = sessionIn(table, SessionState::Connecting);
  const uint32_t old = table.at(slot).generation;
  EXPECT_EQ(table.lookup(slot, old), &table.at(slot));
  EXPECT_EQ(table.live(), 1u);

  table.release(slot);
  EXPECT_EQ(table.live(), 0u);
  EXPECT_EQ(table.at(slot).state, SessionState::Free);
  EXPECT_EQ(table.allocate(), slot) << "a free slot must be reused before the table grows";
  table.at(slot).state = SessionState::Connecting;
  EXPECT_NE(table.at(slot).generation, old);
  EXPECT_EQ(table.lookup(slot, old), nullptr) << "a late completion reached the new session";
  EXPECT_EQ(table.lookup(slot, table.at(slot).generation), &table.at(slot));
  EXPECT_EQ(table.lookup(99, 0), nullptr);
}

// user_data carries only 24 bits of generation: lookup compares exactly those.
TEST(SessionTableTest, LookupComparesTheGenerationBitsUserDataCarries) {
  SessionTable table;
  const uint32_t slot = table.allocate();
  table.at(slot).generation = (3u << 24) | 5;  // wrapped past 24 bits
  table.at(slot).state = SessionState::Relaying;
  const uint32_t generation = table.at(slot).generation;
  EXPECT_EQ(table.lookup(slot, generation & 0xffffff), &table.at(slot));
  EXPECT_EQ(table.lookup(slot, (generation + 1) & 0xffffff), nullptr);
}

// Due entries come out in deadline order, for relaying sessions and for connecting ones (their
// connect attempts are timed by the same queue); entries of freed or closing sessions are
// skipped, and nothing not yet due comes out.
TEST(SessionTableTest, PopsOnlyDueEntriesOfConnectingAndRelayingSessions) {
  SessionTable table;
  const Clock::time_point t0{};
  uint32_t slots[4];
  for (uint32_t& slot : slots) {
    slot = table.allocate();
    table.at(slot).state = SessionState::Relaying;
  }
  table.at(slots[0]).state = SessionState::Connecting;
  table.scheduleExpiry(slots[0], t0 + 3s);
  table.scheduleExpiry(slots[1], t0 + 1s);
  table.scheduleExpiry(slots[2], t0 + 2s);
  table.scheduleExpiry(slots[3], t0 + 2500ms);
  table.release(slots[2]);  // freed before its deadline
  table.at(slots[3]).state = SessionState::Closing;  // its cancels in flight
  EXPECT_EQ(table.nextExpiry(), t0 + 1s);
  EXPECT_EQ(table.popExpired(t0 + 500ms), std::nullopt);
  EXPECT_EQ(table.popExpired(t0 + 5s), slots[1]);
  EXPECT_EQ(table.popExpired(t0 + 5s), slots[0])
      << "the freed and the closing session's entries must be skipped";
  EXPECT_EQ(table.popExpired(t0 + 5s), std::nullopt);
}

// A later deadline while an earlier entry of the session is queued adds nothing (the earlier one
// comes out first and the worker re-queues then); an earlier deadline is queued; once the
// session's earliest entry came out, the next deadline is queued again.
TEST(SessionTableTest, LaterDeadlineRidesOnTheQueuedEarlierEntry) {
  SessionTable table;
  const Clock::time_point t0{};
  const uint32_t slot = sessionIn(table, SessionState::Connecting);
  table.scheduleExpiry(slot, t0 + 5s);
  table.at(slot).state = SessionState::Relaying;
  table.scheduleExpiry(slot, t0 + 60s);
  EXPECT_EQ(table.queuedExpiries(), 1u);
  table.scheduleExpiry(slot, t0 + 2s);
  EXPECT_EQ(table.queuedExpiries(), 2u);
  EXPECT_EQ(table.nextExpiry(), t0 + 2s);
  EXPECT_EQ(table.popExpired(t0 + 2s), slot);
  table.scheduleExpiry(slot, t0 + 60s);
  EXPECT_EQ(table.queuedExpiries(), 2u) << "the deadline was not queued after its entry came out";
  // A freed slot's next session starts with nothing recorded.
  table.release(slot);
  const uint32_t again = table.allocate();
  ASSERT_EQ(again, slot);
  table.at(again).state = SessionState::Relaying;
  table.scheduleExpiry(again, t0 + 90s);
  EXPECT_EQ(table.queuedExpiries(), 3u);
}

// Compaction keeps one entry per live session, and the table's record of what is queued follows
// it: a session whose recorded entry compaction dropped must still get its next deadline queued
// (else it would have no entry at all and never time out).
TEST(SessionTableTest, CompactionKeepsTheRecordTrue) {
  SessionTable table;
  const Clock::time_point t0{};
  const uint32_t slot = sessionIn(table, SessionState::Relaying);
  table.scheduleExpiry(slot, t0 + 5s);
  table.scheduleExpiry(slot, t0 + 4s);
  EXPECT_EQ(table.popExpired(t0 + 4s), slot);  // the record's entry came out: 5 s stays queued
  table.scheduleExpiry(slot, t0 + 5400ms);      // recorded; 5 s is older and earlier
  // Churn until compaction runs: many sessions come and go, each leaving an entry behind.
  bool compacted = false;
  for (int i = 0; i < 3000 && !compacted; ++i) {
    const std::size_t before = table.queuedExpiries();
    const uint32_t other = sessionIn(table, SessionState::Relaying);
    table.scheduleExpiry(other, t0 + 60s);
    table.release(other);
    compacted = table.queuedExpiries() <= before;
  }
  ASSERT_TRUE(compacted) << "compaction never ran";
  EXPECT_EQ(table.popExpired(t0 + 5s), slot);  // the 5 s entry kept; 5.4 s dropped
  table.scheduleExpiry(slot, t0 + 6900ms);
  EXPECT_EQ(table.nextExpiry(), t0 + 6900ms) << "the session's next deadline was not queued";
  EXPECT_EQ(table.popExpired(t0 + 7s), slot);
}

// With many sessions come and gone, the queue is purged down to one entry per live session:
// memory follows live sessions, not the connection rate.
TEST(SessionTableTest, ExpiryQueueStaysProportionalToLiveSessions) {
  SessionTable table;
  const Clock::time_point t0{};
  const uint32_t keep = sessionIn(table, SessionState::Relaying);
  table.scheduleExpiry(keep, t0 + 20s);
  table.scheduleExpiry(keep, t0 + 10s);  // earlier: queued beside the first
  for (int i = 0; i < 10000; ++i) {
    const uint32_t slot = sessionIn(table, SessionState::Relaying);
    table.scheduleExpiry(slot, t0 + 60s);
    table.release(slot);
  }
  EXPECT_LE(table.queuedExpiries(), 4 * table.live() + 1024 + 1);
  EXPECT_EQ(table.popExpired(t0 + 15s), keep) << "the earliest entry of a live session was lost";
}
