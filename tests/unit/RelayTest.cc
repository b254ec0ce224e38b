// The relay's direction state machine, driven without sockets: a fake RelayIo records every
// operation the relay asks for and the test plays the kernel, completing them one by one.
#include <gtest/gtest.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "ringlb/proxy/Relay.h"

namespace ringlb::proxy {
namespace {

using namespace std::chrono_literals;

constexpr int kClientFd = 10;
constexpr int kServerFd = 20;
constexpr unsigned kBufferSize = 1024;

struct FakeOp {
  enum Kind { RecvProvided, RecvInto, RecvStanding, Send, Poll, Timer } kind;
  int fd = -1;
  uint64_t tag = 0;
  uint8_t* into = nullptr;        // RecvInto
  const uint8_t* data = nullptr;  // Send
  std::size_t len = 0;
  bool noWait = false;
  unsigned events = 0;
  bool more = false;  // Send: MSG_MORE
};

// Plays the kernel and the worker for the relay under test.
class FakeWorld final : public RelayIo, public RelayHost {
 public:
  explicit FakeWorld(unsigned buffers) : storage_(buffers, std::vector<uint8_t>(kBufferSize)) {
    for (unsigned i = 0; i < buffers; ++i) ring_.push_back(static_cast<uint16_t>(i));
  }

  // --- RelayIo ---
  void recvProvided(int fd, uint64_t tag) override { ops.push_back({FakeOp::RecvProvided, fd, tag}); }
  void recvStanding(int fd, uint64_t tag) override { ops.push_back({FakeOp::RecvStanding, fd, tag}); }
  unsigned standingLimit() const override { return standingLimitValue; }
  void recvInto(int fd, uint8_t* data, unsigned len, uint64_t tag) override {
    ops.push_back({FakeOp::RecvInto, fd, tag, data, nullptr, len});
  }
  void send(int fd, const uint8_t* data, std::size_t len, bool noWait, bool more,
            uint64_t tag) override {
    FakeOp op{FakeOp::Send, fd, tag, nullptr, data, len, noWait};
    op.more = more;
    ops.push_back(op);
  }
  void poll(int fd, unsigned events, uint64_t tag) override {
    FakeOp op{FakeOp::Poll, fd, tag};
    op.events = events;
    ops.push_back(op);
  }
  void timer(std::chrono::milliseconds, uint64_t tag) override { ops.push_back({FakeOp::Timer, -1, tag}); }
  long splice(int in, int out, unsigned len) override {
    spliceCalls.push_back({in, out});
    if (spliceResults.empty()) return -EAGAIN;
    const long n = spliceResults.front();
    spliceResults.pop_front();
    return n > 0 ? std::min<long>(n, len) : n;
  }
  bool hasPendingData(int fd) override { return pendingData[fd]; }
  bool isReadable(int fd) override { return !idle[fd]; }
  long unsentBytes(int fd) override { return closed[fd] ? -ENOTCONN : unsent[fd]; }
  void shutdownWrite(int fd) override { shutdowns.push_back(fd); }
  void pushPending(int fd) override { pushes.push_back(fd); }
  unsigned bufferSize() const override { return kBufferSize; }
  uint8_t* bufferData(uint16_t id) override { return storage_[id].data(); }
  unsigned buffersInRing() const override { return static_cast<unsigned>(ring_.size()); }
  void bufferTaken(uint16_t) override {}
  void recycleBuffer(uint16_t id) override { ring_.push_back(id); }
  io::Pipe acquirePipe() override {
    if (!pipesAvailable) return io::Pipe{};
    ++pipesOut;
    return io::Pipe{100, 101, 65536};
  }
  void releasePipe(io::Pipe pipe, bool) override {
    if (pipe.valid()) --pipesOut;
  }

  // --- RelayHost ---
  Session& session(uint32_t slot) override { return sessions[slot]; }
  void endSession(Session& s, uint32_t slot, bool reset, CloseReason reason) override {
    ends.push_back({slot, reset, reason});
    s.state = SessionState::Closing;  // what the worker does; it frees once inflight is 0
  }
  void rescheduleExpiry(Session&, uint32_t) override {}

  // --- the test's side ---
  struct End {
    uint32_t slot;
    bool reset;
    CloseReason reason;
  };

  // A relaying session in `slot` with relay mode `mode`.
  uint32_t addSession(config::RelayMode mode) {
    auto cfg = std::make_shared<config::Config>();
    cfg->backends.resize(1);
    cfg->backends[0].relay = mode;
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->config = cfg;
    Session& s = sessions.emplace_back();
    const auto slot = static_cast<uint32_t>(sessions.size() - 1);
    s.generation = 7;
    s.state = SessionState::Relaying;
    s.clientFd = kClientFd + static_cast<int>(slot) * 100;
    s.serverFd = kServerFd + static_cast<int>(slot) * 100;
    s.snapshot = snapshot;
    return slot;
  }

  // The last operation issued for a direction; fails the test if there is none.
  std::optional<FakeOp> lastOp(uint32_t slot, bool c2s) const {
    const uint64_t tag = Relay::tag(sessions[slot], slot, c2s);
    for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
      if (it->tag == tag) return *it;
    }
    return std::nullopt;
  }
  std::size_t opsFor(uint32_t slot, bool c2s) const {
    const uint64_t tag = Relay::tag(sessions[slot], slot, c2s);
    std::size_t n = 0;
    for (const FakeOp& op : ops) n += op.tag == tag ? 1 : 0;
    return n;
  }

  // Completes the pending recv of a direction with `bytes` from its source (the kernel picks a
  // provided buffer, or answers ENOBUFS when the ring is empty), 0 for EOF or a -errno.
  io::Completion recvCompletion(const FakeOp& op, const std::string& bytes, int error = 0) {
    if (error != 0) return io::Completion{op.tag, error, 0};
    if (bytes.empty()) return io::Completion{op.tag, 0, 0};
    if (op.kind == FakeOp::RecvInto) {
      std::memcpy(op.into, bytes.data(), bytes.size());
      return io::Completion{op.tag, static_cast<int32_t>(bytes.size()), 0};
    }
    if (ring_.empty()) return io::Completion{op.tag, -ENOBUFS, 0};
    const uint16_t id = ring_.front();
    ring_.pop_front();
    std::memcpy(storage_[id].data(), bytes.data(), bytes.size());
    return io::Completion::withBuffer(op.tag, static_cast<int32_t>(bytes.size()), id);
  }

  std::vector<FakeOp> ops;
  std::deque<long> spliceResults;
  std::vector<std::pair<int, int>> spliceCalls;
  std::map<int, bool> pendingData;
  std::map<int, bool> idle;  // nothing to read: isReadable answers false
  std::map<int, long> unsent;
  std::map<int, bool> closed;  // the connection was reset: unsentBytes answers -ENOTCONN
  std::vector<int> shutdowns;
  std::vector<int> pushes;  // pushPending calls
  // Standing receives: 0 plays a kernel without the total cap (single-shot recvs only).
  unsigned standingLimitValue = 0;

  // A completion of a direction's standing receive bringing `bytes` in a ring buffer, or ending
  // it: 0 for EOF or a -errno (ENOBUFS when the ring is empty); `more` false ends it too. Plays
  // the kernel's caps: a receive brings at most the limit, and the one that reaches the limit
  // in all is the last (its `more` is forced off), so tests cannot build what cannot happen.
  io::Completion standingCompletion(uint32_t slot, bool c2s, const std::string& bytes,
                                    bool more, int error = 0) {
    const uint64_t tag = Relay::standingTag(sessions[slot], slot, c2s);
    unsigned& total = standingTotal_[tag];
    if (error != 0 || bytes.empty() || ring_.empty()) {
      total = 0;
      if (error != 0) return io::Completion{tag, error, 0};
      return io::Completion{tag, bytes.empty() ? 0 : -ENOBUFS, 0};
    }
    EXPECT_LE(bytes.size(), standingLimitValue) << "the kernel caps each receive at the limit";
    total += static_cast<unsigned>(bytes.size());
    if (total >= standingLimitValue) more = false;
    if (!more) total = 0;
    const uint16_t id = ring_.front();
    ring_.pop_front();
    std::memcpy(storage_[id].data(), bytes.data(), bytes.size());
    return io::Completion::withBuffer(tag, static_cast<int32_t>(bytes.size()), id, more);
  }
  std::size_t standingArmed(uint32_t slot, bool c2s) const {
    const uint64_t tag = Relay::standingTag(sessions[slot], slot, c2s);
    std::size_t n = 0;
    for (const FakeOp& op : ops) n += op.kind == FakeOp::RecvStanding && op.tag == tag ? 1 : 0;
    return n;
  }

  bool pipesAvailable = true;
  int pipesOut = 0;
  std::deque<Session> sessions;
  std::vector<End> ends;

 private:
  std::vector<std::vector<uint8_t>> storage_;
  std::deque<uint16_t> ring_;
  std::map<uint64_t, unsigned> standingTotal_;  // bytes of each standing receive's arming
};

class RelayTest : public ::testing::Test {
 protected:
  explicit RelayTest(unsigned buffers = 4) : world(buffers), relay(world, world, now, *stats) {
    stats->frontends.reserve(1);
    stats->servers.reserve(1);
  }

  Session& session(uint32_t slot) { return world.sessions[slot]; }
  Direction& dir(uint32_t slot, bool c2s) { return c2s ? session(slot).c2s : session(slot).s2c; }
  // Completes the direction's last operation with `completion`.
  void complete(uint32_t slot, bool c2s, const io::Completion& completion) {
    relay.onCompletion(session(slot), slot, c2s, completion);
  }
  void completeLast(uint32_t slot, bool c2s, int res) {
    complete(slot, c2s, io::Completion{world.lastOp(slot, c2s)->tag, res, 0});
  }
  void receive(uint32_t slot, bool c2s, const std::string& bytes, int error = 0) {
    const auto op = world.lastOp(slot, c2s);
    ASSERT_TRUE(op.has_value());
    ASSERT_TRUE(op->kind == FakeOp::RecvProvided || op->kind == FakeOp::RecvInto);
    complete(slot, c2s, world.recvCompletion(*op, bytes, error));
  }

  // Completes the direction's standing receive (see FakeWorld::standingCompletion).
  void stand(uint32_t slot, bool c2s, const std::string& bytes, bool more = true, int error = 0) {
    relay.onStanding(session(slot), slot, c2s,
                     world.standingCompletion(slot, c2s, bytes, more, error));
  }
  // The bytes of the direction's last operation, which must be a send.
  std::string lastSent(uint32_t slot, bool c2s) {
    const auto op = world.lastOp(slot, c2s);
    if (!op || op->kind != FakeOp::Send) return "<no send>";
    return std::string(reinterpret_cast<const char*>(op->data), op->len);
  }

  Clock::time_point now = Clock::now();
  FakeWorld world;
  std::unique_ptr<stats::WorkerCounters> stats = std::make_unique<stats::WorkerCounters>();
  Relay relay;
};

class OneBufferRelayTest : public RelayTest {
 protected:
  OneBufferRelayTest() : RelayTest(1) {}
};

// Only the documented edges exist: in-flight states end in Idle, only Idle starts or ends a
// direction, a waiter leaves only by a granted recv, Done only drains, and Aborted is final.
TEST(DirectionStateTest, AllowsExactlyTheDocumentedEdges) {
  using S = DirectionState;
  const S all[] = {S::Idle, S::Recv, S::Listen, S::Send, S::PollIn, S::PollOut,
                   S::WaitBuffer, S::Backoff, S::Flush, S::Done, S::Aborted};
  for (S from : all) {
    for (S to : all) {
      bool expected = false;
      if (from == S::Idle) expected = to != S::Idle;
      if (from == S::WaitBuffer) expected = to == S::Recv;
      if (from == S::Done) expected = to == S::Flush;  // drains before a reset
      if (from == S::Recv || from == S::Listen || from == S::Send || from == S::PollIn ||
          from == S::PollOut || from == S::Backoff || from == S::Flush) {
        expected = to == S::Idle;
      }
      EXPECT_EQ(transitionAllowed(from, to), expected)
          << static_cast<int>(from) << " -> " << static_cast<int>(to);
    }
  }
}

// Two clean ends close cleanly; an aborted direction closes the session abortively unless the
// other direction is still delivering what a failed source sent.
TEST(RelayOutcomeTest, DecidesFromBothDirections) {
  Session s;
  EXPECT_EQ(relayOutcome(s), RelayOutcome::Continue);
  s.c2s.state = s.s2c.state = DirectionState::Done;
  EXPECT_EQ(relayOutcome(s), RelayOutcome::CloseClean);

  s = Session{};
  s.serverFailed = true;               // the server reset...
  s.c2s.state = DirectionState::Aborted;  // ...so what the client sends cannot be delivered,
  s.s2c.state = DirectionState::PollOut;  // while the server's last bytes still go out
  EXPECT_EQ(relayOutcome(s), RelayOutcome::Continue);
  s.s2c.state = DirectionState::Flush;
  EXPECT_EQ(relayOutcome(s), RelayOutcome::Continue);
  s.s2c.state = DirectionState::Aborted;
  EXPECT_EQ(relayOutcome(s), RelayOutcome::CloseAbort);

  s = Session{};
  s.clientFailed = true;                  // the client reset and its bytes were flushed:
  s.c2s.state = DirectionState::Aborted;  // nothing the server sends can reach it any more
  s.s2c.state = DirectionState::Recv;
  EXPECT_EQ(relayOutcome(s), RelayOutcome::CloseAbort);
}

// EOF with bytes pending: a short send keeps the rest, delivers it, and only then is the FIN
// forwarded; nothing is sent twice and nothing is skipped.
TEST_F(RelayTest, EofAfterShortSendForwardsEveryByteThenTheFin) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  receive(slot, true, std::string(100, 'a'));
  auto send = world.lastOp(slot, true);
  ASSERT_EQ(send->kind, FakeOp::Send);
  EXPECT_EQ(send->fd, session(slot).serverFd);
  EXPECT_EQ(send->len, 100u);
  EXPECT_TRUE(send->noWait) << "a send from a shared ring buffer must never wait";

  completeLast(slot, true, 60);  // short: the server reads slowly
  send = world.lastOp(slot, true);
  ASSERT_EQ(send->kind, FakeOp::Send);
  EXPECT_EQ(send->len, 40u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(send->data), 40), std::string(40, 'a'));
  EXPECT_FALSE(send->noWait) << "a private buffer may wait for the slow reader";
  EXPECT_TRUE(world.shutdowns.empty());

  completeLast(slot, true, 40);
  receive(slot, true, "");  // the client's FIN
  EXPECT_EQ(dir(slot, true).state, DirectionState::Done);
  EXPECT_EQ(dir(slot, true).bytes, 100u);
  ASSERT_EQ(world.shutdowns.size(), 1u);
  EXPECT_EQ(world.shutdowns[0], session(slot).serverFd);
  EXPECT_TRUE(world.ends.empty()) << "the other direction is still open";
}

// The worker's measure of bulk load (WaitPolicy): bytes delivered in both directions since the
// last take, counted when they reach the destination (not when received), then reset.
TEST_F(RelayTest, TurnBytesCountDeliveredBytesUntilTaken) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  EXPECT_EQ(relay.takeTurnBytes(), 0u);
  receive(slot, true, std::string(100, 'a'));
  EXPECT_EQ(relay.takeTurnBytes(), 0u) << "received but not yet delivered";
  completeLast(slot, true, 60);
  receive(slot, false, std::string(30, 'b'));
  completeLast(slot, false, 30);
  EXPECT_EQ(relay.takeTurnBytes(), 90u);
  EXPECT_EQ(relay.takeTurnBytes(), 0u) << "a take resets the count";
  completeLast(slot, true, 40);  // the rest of the short send
  EXPECT_EQ(relay.takeTurnBytes(), 40u);
}

// Spliced bytes count the same way, once they left the pipe for the destination.
TEST_F(RelayTest, TurnBytesCountSplicedBytes) {
  const uint32_t slot = world.addSession(config::RelayMode::Splice);
  world.spliceResults = {5000, 3000, 2000, -EAGAIN};  // in 5000, out 3000 + 2000, then dry
  relay.start(session(slot), slot);
  EXPECT_EQ(dir(slot, true).bytes, 5000u);
  EXPECT_EQ(relay.takeTurnBytes(), 5000u);
  EXPECT_EQ(relay.takeTurnBytes(), 0u);
}

// A short send moves the rest out of the shared ring at once, and the private buffer is
// released as soon as its bytes are sent: memory follows bytes in flight.
TEST_F(RelayTest, PrivateBufferLivesOnlyWhileItHoldsBytes) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  receive(slot, false, std::string(kBufferSize, 'b'));
  const unsigned ringBefore = world.buffersInRing();
  completeLast(slot, false, -EAGAIN);  // the client's socket buffer is full
  EXPECT_EQ(world.buffersInRing(), ringBefore + 1) << "the ring buffer must go back at once";
  EXPECT_TRUE(static_cast<bool>(dir(slot, false).own));
  EXPECT_EQ(stats->worker[static_cast<std::size_t>(stats::WorkerStat::PrivateBuffers)].read(), 1u);

  completeLast(slot, false, static_cast<int>(kBufferSize));
  EXPECT_FALSE(static_cast<bool>(dir(slot, false).own)) << "kept a private buffer it no longer needs";
  EXPECT_EQ(world.lastOp(slot, false)->kind, FakeOp::RecvProvided)
      << "after the slow moment the direction receives from the shared ring again";
}

// ENOBUFS parks the direction in a FIFO line; each returned buffer goes to exactly one waiter,
// the first, directly (never back to the ring where another recv could take it first).
TEST_F(OneBufferRelayTest, EachReturnedBufferWakesExactlyTheFirstWaiter) {
  const uint32_t a = world.addSession(config::RelayMode::Copy);
  const uint32_t b = world.addSession(config::RelayMode::Copy);
  const uint32_t c = world.addSession(config::RelayMode::Copy);
  for (uint32_t slot : {a, b, c}) relay.start(session(slot), slot);
  receive(a, false, "held");          // takes the only buffer; its send is now in flight
  receive(b, false, "waiting-b");     // ENOBUFS
  receive(c, false, "waiting-c");     // ENOBUFS
  EXPECT_EQ(dir(b, false).state, DirectionState::WaitBuffer);
  EXPECT_EQ(dir(c, false).state, DirectionState::WaitBuffer);
  EXPECT_EQ(relay.waiting(), 2u);
  const std::size_t opsOfC = world.opsFor(c, false);

  now += 5s;  // the wait took long: it must not count as the client's idleness
  completeLast(a, false, 4);  // a's bytes are delivered: its buffer comes back
  EXPECT_EQ(world.buffersInRing(), 0u) << "the buffer went to the ring, not to the waiter";
  const auto granted = world.lastOp(b, false);
  ASSERT_EQ(granted->kind, FakeOp::RecvInto) << "the first waiter must get the buffer";
  EXPECT_EQ(dir(b, false).state, DirectionState::Recv);
  EXPECT_EQ(session(b).serverActive, now) << "time spent waiting counted as idleness";
  EXPECT_EQ(dir(c, false).state, DirectionState::WaitBuffer) << "one buffer woke two waiters";
  EXPECT_EQ(world.opsFor(c, false), opsOfC);

  receive(b, false, "waiting-b");
  EXPECT_EQ(world.lastOp(b, false)->kind, FakeOp::Send);
  completeLast(b, false, 9);
  EXPECT_EQ(world.lastOp(c, false)->kind, FakeOp::RecvInto) << "the second waiter is next";
  EXPECT_EQ(relay.waiting(), 0u);
}

// Splice stops at a TCP urgent mark (0 with bytes still queued): the direction must fall back
// to copying rather than take it for an end of stream or spin.
TEST_F(RelayTest, UrgentDataSwitchesASplicedDirectionToCopy) {
  const uint32_t slot = world.addSession(config::RelayMode::Splice);
  world.pendingData[session(slot).clientFd] = true;
  world.spliceResults = {0};  // c2s's first splice-in stops at the mark
  relay.start(session(slot), slot);
  EXPECT_TRUE(dir(slot, true).noSplice);
  EXPECT_FALSE(dir(slot, true).pipe.valid()) << "the empty pipe goes back to the pool";
  EXPECT_EQ(dir(slot, true).source, SourceEnd::Open) << "an urgent mark is not an end of stream";
  EXPECT_EQ(world.lastOp(slot, true)->kind, FakeOp::RecvProvided);
}

// Without a pipe (descriptors exhausted) a splice direction copies instead.
TEST_F(RelayTest, NoPipeFallsBackToCopy) {
  const uint32_t slot = world.addSession(config::RelayMode::Splice);
  world.pipesAvailable = false;
  relay.start(session(slot), slot);
  EXPECT_FALSE(dir(slot, true).splice);
  EXPECT_EQ(world.lastOp(slot, true)->kind, FakeOp::RecvProvided);
  EXPECT_EQ(world.lastOp(slot, false)->kind, FakeOp::RecvProvided);
}

// A server that resets with bytes still queued in our pipe: those bytes are delivered, the
// client's kernel queue drains, and only then are both sides reset.
TEST_F(RelayTest, ResetWithBytesQueuedDeliversThemDrainsThenResets) {
  const uint32_t slot = world.addSession(config::RelayMode::Splice);
  const int client = session(slot).clientFd;
  // c2s: nothing to read (EAGAIN -> poll). s2c: 1000 bytes in, then the client is full.
  world.spliceResults = {-EAGAIN, 1000, -EAGAIN};
  relay.start(session(slot), slot);
  ASSERT_EQ(dir(slot, false).state, DirectionState::PollOut);
  ASSERT_EQ(dir(slot, false).pipePending, 1000u);

  // The client sends; forwarding it finds the server gone.
  world.spliceResults = {5, -ECONNRESET};
  completeLast(slot, true, POLLIN);
  EXPECT_TRUE(session(slot).serverFailed);
  EXPECT_EQ(dir(slot, true).state, DirectionState::Aborted);
  EXPECT_TRUE(world.ends.empty()) << "ended with 1000 of the server's bytes still in the pipe";

  // The client makes room: the 1000 bytes go out, then the server's socket reports the reset.
  world.spliceResults = {1000, -ECONNRESET};
  world.unsent[client] = 700;
  completeLast(slot, false, POLLOUT);
  EXPECT_EQ(dir(slot, false).bytes, 1000u);
  EXPECT_EQ(dir(slot, false).state, DirectionState::Flush);
  EXPECT_TRUE(world.ends.empty()) << "reset while the client's kernel still held 700 bytes";
  EXPECT_TRUE(world.shutdowns.empty()) << "a reset source must never be forwarded as a FIN";

  world.unsent[client] = 0;
  completeLast(slot, false, -ETIME);  // the flush timer
  ASSERT_EQ(world.ends.size(), 1u);
  EXPECT_TRUE(world.ends[0].reset);
  EXPECT_EQ(world.ends[0].reason, CloseReason::ServerReset);
}

// A client that resets after sending: its bytes reach the server and drain before the server
// is reset; the server's direction (which could only reach the dead client) does not hold the
// session open.
TEST_F(RelayTest, ClientResetAfterSendingFlushesToTheServer) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  const int server = session(slot).serverFd;
  relay.start(session(slot), slot);
  receive(slot, true, "request");
  completeLast(slot, true, 7);
  world.unsent[server] = 7;
  receive(slot, true, "", -ECONNRESET);
  EXPECT_TRUE(session(slot).clientFailed);
  EXPECT_EQ(dir(slot, true).state, DirectionState::Flush);
  EXPECT_TRUE(world.ends.empty());

  world.unsent[server] = 0;
  completeLast(slot, true, -ETIME);
  ASSERT_EQ(world.ends.size(), 1u);
  EXPECT_TRUE(world.ends[0].reset);
  EXPECT_EQ(world.ends[0].reason, CloseReason::ClientReset);
  EXPECT_EQ(dir(slot, true).bytes, 7u);
}

// When the destination fails, an end of stream read afterwards from that same socket is the
// aftermath of its reset: it is reset onwards, never forwarded as a FIN.
TEST_F(RelayTest, EofAfterTheSideFailedIsNotForwardedAsFin) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  receive(slot, false, "response");
  completeLast(slot, false, -EPIPE);  // the client is gone
  EXPECT_EQ(dir(slot, false).state, DirectionState::Aborted);
  EXPECT_TRUE(world.ends.empty()) << "the client's socket may still hold bytes it sent";

  receive(slot, true, "");  // reading the failed client now ends (its error already reported)
  EXPECT_TRUE(world.shutdowns.empty()) << "the end of a reset stream was forwarded as a FIN";
  ASSERT_EQ(world.ends.size(), 1u);
  EXPECT_TRUE(world.ends[0].reset);
  EXPECT_EQ(world.ends[0].reason, CloseReason::ClientReset);
}

// Kernel memory shortage on a send pauses the direction (a timer) and retries the same bytes;
// it is not a reset.
TEST_F(RelayTest, SendOutOfMemoryBacksOffAndRetries) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  receive(slot, true, "payload");
  completeLast(slot, true, -ENOBUFS);
  EXPECT_EQ(dir(slot, true).state, DirectionState::Backoff);
  EXPECT_EQ(world.lastOp(slot, true)->kind, FakeOp::Timer);
  completeLast(slot, true, -ETIME);
  const auto retry = world.lastOp(slot, true);
  ASSERT_EQ(retry->kind, FakeOp::Send);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(retry->data), retry->len), "payload");
  EXPECT_FALSE(session(slot).clientFailed || session(slot).serverFailed);
  EXPECT_TRUE(world.ends.empty());
}

// Both FINs forwarded after every byte: a clean close, and the second FIN is left to close().
TEST_F(RelayTest, BothFinsCloseCleanly) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  receive(slot, true, "");
  receive(slot, false, "");
  ASSERT_EQ(world.ends.size(), 1u);
  EXPECT_FALSE(world.ends[0].reset);
  EXPECT_EQ(world.ends[0].reason, CloseReason::Completed);
  EXPECT_EQ(world.shutdowns.size(), 1u) << "the second FIN costs no shutdown(): close sends it";
  EXPECT_EQ(session(slot).inflight, 0);
}

// Completions arriving after the session started closing only give back what they took.
TEST_F(RelayTest, CompletionWhileClosingReturnsItsBuffer) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  const unsigned ringBefore = world.buffersInRing();
  session(slot).state = SessionState::Closing;
  receive(slot, true, "late");
  EXPECT_EQ(world.buffersInRing(), ringBefore);
  EXPECT_EQ(dir(slot, true).state, DirectionState::Idle);
  EXPECT_EQ(session(slot).inflight, 1) << "only the s2c recv is still in flight";
}

// A completion for a direction with no operation in flight means the relay's accounting broke:
// the buffer it carries goes back to the ring and the session ends abortively as Internal.
TEST_F(RelayTest, CompletionWithNothingInFlightReturnsItsBufferAndResetsAsInternal) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  const auto recv = world.lastOp(slot, true);
  ASSERT_TRUE(recv.has_value());
  receive(slot, true, "");  // EOF: c2s is done and has nothing in flight
  ASSERT_TRUE(world.ends.empty());
  const unsigned ringBefore = world.buffersInRing();
  complete(slot, true, world.recvCompletion(*recv, "stray"));  // takes a ring buffer
  EXPECT_EQ(world.buffersInRing(), ringBefore) << "the stray completion's buffer went back";
  ASSERT_EQ(world.ends.size(), 1u);
  EXPECT_TRUE(world.ends[0].reset);
  EXPECT_EQ(world.ends[0].reason, CloseReason::Internal);
}

// A complete stream (FIN forwarded) still queued toward a working client is drained before the
// session is reset for the server's failure: the reset would discard it.
TEST_F(RelayTest, DoneDirectionDrainsBeforeTheReset) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  const int client = session(slot).clientFd;
  relay.start(session(slot), slot);
  receive(slot, false, "response");
  completeLast(slot, false, 8);
  receive(slot, false, "");  // the server's FIN, forwarded
  ASSERT_EQ(dir(slot, false).state, DirectionState::Done);
  world.unsent[client] = 5000;  // the client has not taken it yet
  receive(slot, true, "more");
  completeLast(slot, true, -EPIPE);  // the server is gone
  EXPECT_TRUE(world.ends.empty()) << "reset while the client's kernel held 5000 bytes it is owed";
  EXPECT_EQ(dir(slot, false).state, DirectionState::Flush);

  now += 1s;
  world.unsent[client] = 1000;
  completeLast(slot, false, -ETIME);
  EXPECT_EQ(session(slot).clientActive, now) << "a draining peer's progress is activity";
  EXPECT_TRUE(world.ends.empty());
  world.unsent[client] = 0;
  completeLast(slot, false, -ETIME);
  ASSERT_EQ(world.ends.size(), 1u);
  EXPECT_TRUE(world.ends[0].reset);
  EXPECT_EQ(world.ends[0].reason, CloseReason::ServerReset);
  EXPECT_EQ(world.shutdowns.size(), 1u) << "the FIN is forwarded once, not again after the drain";
}

// An end from outside (a timeout) also lets a complete stream drain first, and records its
// own reason.
TEST_F(RelayTest, TimeoutEndDrainsACompleteStreamFirst) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  const int client = session(slot).clientFd;
  relay.start(session(slot), slot);
  receive(slot, false, "tail");
  completeLast(slot, false, 4);
  receive(slot, false, "");
  world.unsent[client] = 4;
  relay.end(session(slot), slot, CloseReason::ServerTimeout);
  EXPECT_TRUE(world.ends.empty());
  world.unsent[client] = 0;
  completeLast(slot, false, -ETIME);
  ASSERT_EQ(world.ends.size(), 1u);
  EXPECT_TRUE(world.ends[0].reset) << "the client's own stream was cut: it must see a reset";
  EXPECT_EQ(world.ends[0].reason, CloseReason::ServerTimeout);
}

// A destination that resets while we wait for its queue to drain ends the wait at once (its
// SIOCOUTQ would never drop again).
TEST_F(RelayTest, FlushStopsWhenTheDestinationCloses) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  const int server = session(slot).serverFd;
  relay.start(session(slot), slot);
  receive(slot, true, "request");
  completeLast(slot, true, 7);
  world.unsent[server] = 7;
  receive(slot, true, "", -ECONNRESET);
  ASSERT_EQ(dir(slot, true).state, DirectionState::Flush);
  world.closed[server] = true;  // the server resets too; SIOCOUTQ stays 7
  completeLast(slot, true, -ETIME);
  ASSERT_EQ(world.ends.size(), 1u);
  EXPECT_TRUE(world.ends[0].reset);
  EXPECT_EQ(world.ends[0].reason, CloseReason::ClientReset) << "the client failed first";
}

// A lent buffer whose recv finds nothing after all (-EAGAIN: lent recvs never wait) passes on
// to the next in line at once instead of sitting in an idle socket's recv.
TEST_F(OneBufferRelayTest, LentBufferFindingNothingPassesToTheNextWaiter) {
  const uint32_t a = world.addSession(config::RelayMode::Copy);
  const uint32_t b = world.addSession(config::RelayMode::Copy);
  const uint32_t c = world.addSession(config::RelayMode::Copy);
  for (uint32_t slot : {a, b, c}) relay.start(session(slot), slot);
  receive(a, false, "held");
  receive(b, false, "b");  // ENOBUFS
  receive(c, false, "c");  // ENOBUFS
  completeLast(a, false, 4);
  ASSERT_EQ(world.lastOp(b, false)->kind, FakeOp::RecvInto);
  completeLast(b, false, -EAGAIN);
  EXPECT_EQ(world.lastOp(c, false)->kind, FakeOp::RecvInto) << "the buffer stayed with b";
  EXPECT_EQ(world.lastOp(b, false)->kind, FakeOp::RecvProvided) << "b must wait for data again";
}

// The kernel answers ENOBUFS at once on an idle socket when the ring is empty: such a direction
// waits for bytes (a poll), not in the line for a buffer, and tries again once readable.
TEST_F(OneBufferRelayTest, IdleSocketMeetingAnEmptyRingWaitsForBytesNotForABuffer) {
  const uint32_t a = world.addSession(config::RelayMode::Copy);
  const uint32_t b = world.addSession(config::RelayMode::Copy);
  relay.start(session(a), a);
  relay.start(session(b), b);
  receive(a, false, "held");  // takes the only buffer
  world.idle[session(b).clientFd] = true;
  receive(b, true, "", -ENOBUFS);  // b's client has sent nothing
  EXPECT_EQ(dir(b, true).state, DirectionState::PollIn);
  EXPECT_EQ(relay.waiting(), 0u) << "an idle direction queued for a buffer it does not need";
  world.idle[session(b).clientFd] = false;
  completeLast(b, true, POLLIN);
  EXPECT_EQ(world.lastOp(b, true)->kind, FakeOp::RecvProvided);
  EXPECT_FALSE(dir(b, true).readable) << "a copy-mode poll must not arm splice's urgent check";
}

// ENOBUFS answered before a buffer came back in the same batch: only as many directions retry
// the ring as it holds buffers; the others queue in order (a lottery would starve some for ever,
// and they would not even count as waiting).
TEST_F(OneBufferRelayTest, OneRetryPerBufferBackInTheRingTheRestQueue) {
  const uint32_t a = world.addSession(config::RelayMode::Copy);
  const uint32_t b = world.addSession(config::RelayMode::Copy);
  const uint32_t c = world.addSession(config::RelayMode::Copy);
  for (uint32_t slot : {a, b, c}) relay.start(session(slot), slot);
  receive(a, false, "held");
  completeLast(a, false, 4);  // nobody waits yet: the buffer goes back to the ring
  ASSERT_EQ(world.buffersInRing(), 1u);
  completeLast(b, false, -ENOBUFS);  // both met the empty ring before the buffer came back
  completeLast(c, false, -ENOBUFS);
  EXPECT_EQ(world.lastOp(b, false)->kind, FakeOp::RecvProvided) << "b should retry the ring";
  EXPECT_EQ(dir(c, false).state, DirectionState::WaitBuffer) << "c must queue, not retry too";
  EXPECT_EQ(relay.waiting(), 1u);
  receive(b, false, "bytes");  // b's retry takes the buffer...
  completeLast(b, false, 5);   // ...and its return goes to c, first in line
  EXPECT_EQ(world.lastOp(c, false)->kind, FakeOp::RecvInto);
}

// --- Standing receives (a kernel that can cap a multishot recv: standingLimit() > 0) ---

class StandingRelayTest : public RelayTest {
 protected:
  StandingRelayTest() { world.standingLimitValue = kBufferSize / 2; }
};

class OneBufferStandingRelayTest : public RelayTest {
 protected:
  OneBufferStandingRelayTest() : RelayTest(1) { world.standingLimitValue = kBufferSize / 2; }
};

// An interactive exchange: one standing receive per direction serves every message; between
// messages the direction only listens, holding no buffer.
TEST_F(StandingRelayTest, OneArmingServesManyExchanges) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  EXPECT_EQ(world.standingArmed(slot, true), 1u);
  EXPECT_EQ(world.standingArmed(slot, false), 1u);
  EXPECT_EQ(session(slot).inflight, 2);
  for (int i = 0; i < 3; ++i) {
    const std::string request = "request " + std::to_string(i);
    stand(slot, true, request);
    EXPECT_EQ(lastSent(slot, true), request);
    completeLast(slot, true, static_cast<int>(request.size()));
    EXPECT_EQ(dir(slot, true).state, DirectionState::Listen);
    const std::string response = "response " + std::to_string(i);
    stand(slot, false, response);
    EXPECT_EQ(lastSent(slot, false), response);
    completeLast(slot, false, static_cast<int>(response.size()));
  }
  EXPECT_EQ(world.standingArmed(slot, true), 1u) << "re-armed although still armed";
  EXPECT_EQ(world.standingArmed(slot, false), 1u);
  EXPECT_EQ(world.opsFor(slot, true), 3u) << "only sends besides the one standing receive";
  EXPECT_EQ(world.buffersInRing(), 4u) << "a listening direction holds no buffer";
  EXPECT_EQ(session(slot).inflight, 2);
  EXPECT_EQ(dir(slot, true).bytes, 3 * std::string("request 0").size());
}

// Bytes that arrive while the direction sends queue behind, in order, in its private buffer;
// their ring buffers go back at once, so a busy direction pins only the one being sent.
TEST_F(StandingRelayTest, BytesArrivingDuringASendFollowInOrderWithoutPinningBuffers) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  stand(slot, true, "one,");
  stand(slot, true, "two,");
  stand(slot, true, "three");
  EXPECT_EQ(world.buffersInRing(), 3u) << "only the buffer being sent may stay out of the ring";
  EXPECT_EQ(lastSent(slot, true), "one,") << "a second send while one is in flight";
  completeLast(slot, true, 4);
  EXPECT_EQ(lastSent(slot, true), "two,three");
  EXPECT_FALSE(world.lastOp(slot, true)->noWait) << "private bytes may wait for the reader";
  EXPECT_EQ(world.buffersInRing(), 4u);
  completeLast(slot, true, 9);
  EXPECT_EQ(dir(slot, true).state, DirectionState::Listen);
  EXPECT_FALSE(dir(slot, true).own) << "the private buffer outlived its bytes";
  EXPECT_EQ(dir(slot, true).bytes, 13u);
}

// A short send moves the unsent rest into the private buffer ahead of what arrived meanwhile.
TEST_F(StandingRelayTest, ShortSendKeepsTheRestAheadOfLaterBytes) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  stand(slot, true, std::string(100, 'a'));
  stand(slot, true, std::string(50, 'b'));
  completeLast(slot, true, 60);
  EXPECT_EQ(lastSent(slot, true), std::string(40, 'a') + std::string(50, 'b'));
  stand(slot, true, std::string(10, 'c'));  // appended behind the bytes being sent
  completeLast(slot, true, 90);
  EXPECT_EQ(lastSent(slot, true), std::string(10, 'c'));
  completeLast(slot, true, 10);
  EXPECT_EQ(dir(slot, true).bytes, 160u);
  EXPECT_EQ(world.buffersInRing(), 4u);
}

// The source's FIN, read while earlier bytes are being sent, is forwarded after them.
TEST_F(StandingRelayTest, EndOfStreamDuringASendIsForwardedAfterTheBytes) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  stand(slot, true, "last words");
  stand(slot, true, "", false);  // EOF ends the standing receive
  EXPECT_FALSE(dir(slot, true).standing);
  EXPECT_TRUE(world.shutdowns.empty()) << "FIN forwarded before the bytes";
  completeLast(slot, true, 10);
  ASSERT_EQ(world.shutdowns.size(), 1u);
  EXPECT_EQ(world.shutdowns[0], session(slot).serverFd);
  EXPECT_EQ(dir(slot, true).state, DirectionState::Done);
  EXPECT_EQ(session(slot).inflight, 1) << "only s2c's standing receive is left";
}

// When the kernel ends a standing receive at its limit, the next one is armed only once every
// byte it brought is delivered: what a direction holds never exceeds one arming.
TEST_F(StandingRelayTest, ReachingTheLimitRearmsOnlyOnceNothingIsHeld) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  stand(slot, true, "a");
  stand(slot, true, "b", false);  // the total is reached: the kernel ends it
  EXPECT_EQ(world.standingArmed(slot, true), 1u);
  completeLast(slot, true, 1);
  EXPECT_EQ(lastSent(slot, true), "b");
  EXPECT_EQ(world.standingArmed(slot, true), 1u) << "re-armed while bytes were held";
  completeLast(slot, true, 1);
  EXPECT_EQ(world.standingArmed(slot, true), 2u);
  EXPECT_EQ(dir(slot, true).state, DirectionState::Listen);
  EXPECT_EQ(session(slot).inflight, 2);
}

// A read that fills the limit marks a bulk transfer: whole-buffer single-shot recvs follow; a
// short read brings the standing receive back.
TEST_F(StandingRelayTest, FullReadsLeaveForSingleShotRecvsShortOnesComeBack) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  stand(slot, true, std::string(kBufferSize / 2, 'x'), false);
  completeLast(slot, true, static_cast<int>(kBufferSize / 2));
  EXPECT_EQ(world.lastOp(slot, true)->kind, FakeOp::RecvProvided);
  receive(slot, true, "short");
  completeLast(slot, true, 5);
  EXPECT_EQ(world.ops.back().kind, FakeOp::RecvStanding);
  EXPECT_EQ(world.standingArmed(slot, true), 2u);
}

// The server's response and its end of stream in one batch (the worker looked ahead): the
// response goes with MSG_MORE, and the FIN forwarded once it is sent rides in its segment.
TEST_F(StandingRelayTest, EndOfStreamInTheSameBatchLetsTheLastBytesCarryTheFin) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  const int client = session(slot).clientFd;
  relay.start(session(slot), slot);
  relay.foreseeEnd(session(slot), false);
  stand(slot, false, "response");
  const auto send = world.lastOp(slot, false);
  ASSERT_TRUE(send.has_value());
  ASSERT_EQ(send->kind, FakeOp::Send);
  EXPECT_TRUE(send->more) << "the last bytes left without waiting for the FIN";
  stand(slot, false, "", false);  // the end of stream, later in the same batch
  EXPECT_TRUE(world.shutdowns.empty()) << "FIN forwarded before the bytes";
  completeLast(slot, false, 8);
  ASSERT_EQ(world.shutdowns, std::vector<int>{client}) << "held bytes never pushed by a FIN";
  EXPECT_TRUE(world.pushes.empty());
  EXPECT_FALSE(dir(slot, false).corked);
  EXPECT_EQ(dir(slot, false).state, DirectionState::Done);
}

// Without an end of stream in sight nothing is held back: an interactive exchange must never wait
// for a segment to fill. After the end is known, bytes still to send (a short send's rest) are
// held for the FIN too.
TEST_F(StandingRelayTest, BytesAreHeldForTheFinOnlyOnceTheEndIsKnown) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  stand(slot, false, std::string(100, 'a'));
  EXPECT_FALSE(world.lastOp(slot, false)->more) << "bytes held back with no end in sight";
  completeLast(slot, false, 100);
  stand(slot, false, std::string(100, 'b'));
  EXPECT_FALSE(world.lastOp(slot, false)->more);
  stand(slot, false, "", false);  // the end, read while the send is in flight
  completeLast(slot, false, 60);  // short: the rest goes after the end was read
  EXPECT_EQ(lastSent(slot, false), std::string(40, 'b'));
  EXPECT_TRUE(world.lastOp(slot, false)->more);
  completeLast(slot, false, 40);
  EXPECT_EQ(world.shutdowns.size(), 1u);
  EXPECT_FALSE(dir(slot, false).corked);
}

// A foreseen end that turns out a reset (the source's side had failed): the held bytes are
// pushed before the destination drains, since no FIN will ever push them.
TEST_F(StandingRelayTest, ForeseenEndThatIsAResetPushesTheHeldBytes) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  const int server = session(slot).serverFd;
  relay.start(session(slot), slot);
  relay.foreseeEnd(session(slot), true);
  stand(slot, true, "abc");
  EXPECT_TRUE(world.lastOp(slot, true)->more);
  session(slot).clientFailed = true;  // what a failed operation on the client socket records
  stand(slot, true, "", false);  // read after the failure: a reset, not a FIN
  world.unsent[server] = 3;
  completeLast(slot, true, 3);
  EXPECT_EQ(world.pushes, std::vector<int>{server}) << "held bytes left waiting for a FIN";
  EXPECT_TRUE(world.shutdowns.empty()) << "a reset source must never be forwarded as a FIN";
  EXPECT_EQ(dir(slot, true).state, DirectionState::Flush) << "the reset did not wait for the drain";
}

// Bytes held for the FIN do not wait out a backoff: when the next send (the bytes queued behind)
// must back off, what the first one left held is pushed before the timer.
TEST_F(StandingRelayTest, BackoffBeforeTheFinPushesTheHeldBytes) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  const int client = session(slot).clientFd;
  relay.start(session(slot), slot);
  relay.foreseeEnd(session(slot), false);
  stand(slot, false, "head");
  stand(slot, false, "tail");  // queued behind the send in flight
  stand(slot, false, "", false);
  completeLast(slot, false, 4);  // "head" sent, held by MSG_MORE
  EXPECT_EQ(lastSent(slot, false), "tail");
  EXPECT_TRUE(world.pushes.empty()) << "pushed although the FIN was about to follow";
  completeLast(slot, false, -ENOBUFS);
  EXPECT_EQ(dir(slot, false).state, DirectionState::Backoff);
  EXPECT_EQ(world.pushes, std::vector<int>{client}) << "held bytes left to wait out the backoff";
  completeLast(slot, false, -ETIME);  // retry
  completeLast(slot, false, 4);
  EXPECT_EQ(world.shutdowns, std::vector<int>{client});
}

// The last direction to end leaves its FIN to close(): the bytes it held go with that FIN, and
// the session ends cleanly without a shutdown() on that side.
TEST_F(StandingRelayTest, HeldBytesOfTheLastDirectionGoWithClose) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  const int server = session(slot).serverFd;
  relay.start(session(slot), slot);
  stand(slot, true, "", false);  // the client's FIN first: forwarded at once
  ASSERT_EQ(world.shutdowns, std::vector<int>{server});
  relay.foreseeEnd(session(slot), false);
  stand(slot, false, "response");
  EXPECT_TRUE(world.lastOp(slot, false)->more);
  stand(slot, false, "", false);
  completeLast(slot, false, 8);
  EXPECT_EQ(world.shutdowns, std::vector<int>{server}) << "close() sends this FIN";
  ASSERT_EQ(world.ends.size(), 1u);
  EXPECT_FALSE(world.ends[0].reset);
  EXPECT_EQ(world.ends[0].reason, CloseReason::Completed);
  EXPECT_TRUE(world.pushes.empty());
}

// An end of stream read after its side failed is a reset: nothing is held for it.
TEST_F(StandingRelayTest, EndForeseenAfterTheSourceFailedHoldsNothing) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  session(slot).serverFailed = true;
  relay.foreseeEnd(session(slot), false);
  stand(slot, false, "last");
  EXPECT_FALSE(world.lastOp(slot, false)->more);
}

// A source reset read while bytes are being sent: they are delivered, the destination drains,
// then the session resets.
TEST_F(StandingRelayTest, ResetDuringASendDeliversTheBytesFirst) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  stand(slot, true, "abc");
  stand(slot, true, "", false, -ECONNRESET);
  EXPECT_TRUE(world.ends.empty()) << "reset before the client's bytes were delivered";
  world.unsent[session(slot).serverFd] = 3;  // the server has not acknowledged them yet
  completeLast(slot, true, 3);
  EXPECT_EQ(dir(slot, true).bytes, 3u);
  EXPECT_EQ(dir(slot, true).state, DirectionState::Flush);
  EXPECT_TRUE(world.ends.empty()) << "reset while the server's kernel still held the bytes";
  world.unsent[session(slot).serverFd] = 0;
  completeLast(slot, true, -ETIME);  // the flush timer
  ASSERT_EQ(world.ends.size(), 1u);
  EXPECT_TRUE(world.ends[0].reset);
  EXPECT_EQ(world.ends[0].reason, CloseReason::ClientReset);
  EXPECT_TRUE(world.shutdowns.empty()) << "a reset source must never be forwarded as a FIN";
}

// Bytes for a destination that is gone are dropped as they come, buffers returned.
TEST_F(StandingRelayTest, BytesForAGoneDestinationGiveTheirBuffersBack) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  stand(slot, true, "abc");
  completeLast(slot, true, -EPIPE);  // the server is gone
  EXPECT_EQ(dir(slot, true).state, DirectionState::Aborted);
  stand(slot, true, "more");
  EXPECT_EQ(world.buffersInRing(), 4u);
  EXPECT_EQ(world.opsFor(slot, true), 1u) << "a send to a gone destination";
}

// While closing, standing completions only return their buffers; each one that ends its
// receive lowers inflight, so the session is freed after the last.
TEST_F(StandingRelayTest, ClosingAccountsForEveryStandingCompletion) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  session(slot).state = SessionState::Closing;  // what endSession does; cancels follow
  stand(slot, true, "raced the cancel");
  EXPECT_EQ(world.buffersInRing(), 4u);
  EXPECT_EQ(session(slot).inflight, 2);
  stand(slot, true, "", false, -ECANCELED);
  stand(slot, false, "", false, -ECANCELED);
  EXPECT_EQ(session(slot).inflight, 0);
}

// The kernel out of memory for a send: later bytes wait behind the retried ones.
TEST_F(StandingRelayTest, SendBackoffKeepsLaterBytesBehind) {
  const uint32_t slot = world.addSession(config::RelayMode::Copy);
  relay.start(session(slot), slot);
  stand(slot, true, "first");
  completeLast(slot, true, -ENOMEM);
  ASSERT_EQ(dir(slot, true).state, DirectionState::Backoff);
  stand(slot, true, "second");
  completeLast(slot, true, -ETIME);  // the backoff timer
  EXPECT_EQ(lastSent(slot, true), "first");
  completeLast(slot, true, 5);
  EXPECT_EQ(lastSent(slot, true), "second");
  completeLast(slot, true, 6);
  EXPECT_EQ(dir(slot, true).bytes, 11u);
  EXPECT_EQ(dir(slot, true).state, DirectionState::Listen);
}

// A direction that retried the ring after ENOBUFS (a probe) and was closed before its standing
// receive brought anything is no longer counted as probing: the next ENOBUFS direction may
// retry the buffer still in the ring, instead of queueing for one nobody will return.
TEST_F(OneBufferStandingRelayTest, ClosingDuringAProbeLeavesNoProbeCounted) {
  const uint32_t b = world.addSession(config::RelayMode::Copy);
  const uint32_t c = world.addSession(config::RelayMode::Copy);
  relay.start(session(b), b);
  relay.start(session(c), c);
  stand(b, true, "", false, -ENOBUFS);  // met the ring empty; its buffer is back by now
  ASSERT_EQ(world.standingArmed(b, true), 2u) << "b should retry the ring";
  session(b).state = SessionState::Closing;
  stand(b, true, "", false, -ECANCELED);
  stand(c, true, "", false, -ENOBUFS);
  EXPECT_EQ(world.standingArmed(c, true), 2u) << "c queued although the buffer is in the ring";
  EXPECT_EQ(dir(c, true).state, DirectionState::Listen);
  EXPECT_EQ(relay.waiting(), 0u);
}

// A standing receive meeting an empty ring ends with ENOBUFS; the direction then queues for a
// buffer like a single-shot recv, and listens again once that exchange is done.
TEST_F(OneBufferStandingRelayTest, EmptyRingQueuesTheDirectionForABuffer) {
  const uint32_t a = world.addSession(config::RelayMode::Copy);
  const uint32_t b = world.addSession(config::RelayMode::Copy);
  relay.start(session(a), a);
  relay.start(session(b), b);
  stand(a, false, "held");  // takes the only buffer; its send is in flight
  stand(b, true, "x", false);  // the ring is empty: -ENOBUFS
  EXPECT_EQ(dir(b, true).state, DirectionState::WaitBuffer);
  EXPECT_EQ(relay.waiting(), 1u);
  completeLast(a, false, 4);  // a's buffer comes back and goes to b
  ASSERT_EQ(world.lastOp(b, true)->kind, FakeOp::RecvInto);
  receive(b, true, "x");
  completeLast(b, true, 1);
  EXPECT_EQ(world.standingArmed(b, true), 2u);
  EXPECT_EQ(dir(b, true).state, DirectionState::Listen);
}

}  // namespace
}  // namespace ringlb::proxy
