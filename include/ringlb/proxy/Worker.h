#pragma once
// A worker: one thread, one io_uring, its own SO_REUSEPORT listeners, and every connection it
// accepts for that connection's whole life. Nothing here is shared with other workers except
// the immutable snapshot and relaxed atomic counters (connection limits, server load).
//
// Threading: construct on any thread, then call run() on the worker's own thread (the ring is
// created there: SINGLE_ISSUER binds it to its creator). requestStop() and post() may be called
// from any thread; everything else is private to the worker thread.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ringlb/io/BufferRing.h"
#include "ringlb/io/PipePool.h"
#include "ringlb/io/Ring.h"
#include "ringlb/log/LineRing.h"
#include "ringlb/proxy/HeldAcks.h"
#include "ringlb/proxy/Mailbox.h"
#include "ringlb/proxy/Ops.h"
#include "ringlb/proxy/Relay.h"
#include "ringlb/proxy/RelayIo.h"
#include "ringlb/proxy/Session.h"
#include "ringlb/proxy/SessionTable.h"
#include "ringlb/proxy/Snapshot.h"
#include "ringlb/proxy/WaitPolicy.h"

namespace ringlb::proxy {

struct WorkerOptions {
  unsigned ringEntries = 4096;
  unsigned pipeSize = 256 * 1024;    // requested F_SETPIPE_SZ for splice pipes
  std::size_t pipePoolIdle = 256;    // idle pipes kept per worker, at most (see
                                     // SharedCounters::pipePoolLimit for the actual bound)
  RelayOptions relay;
  // The access log ring this worker formats its finished sessions' lines into (the snapshot's
  // access_log.format); null: no access log.
  log::LineRing* accessLog = nullptr;
  // Batched waiting when busy or moving bulk data (see WaitPolicy and io::Ring::wait):
  // measured to cut proxy CPU per keep-alive request, to raise bulk throughput and to cut
  // proxy CPU per MB (docs/performance.md).
  WaitPolicy waitPolicy;
  // Standing (multishot) receives for interactive directions where the kernel can bound them
  // (io::Features::cappedRecv; see proxy/Relay.h): fewer operations per exchange.
  bool standingReceive = true;
};

class Worker final : private RelayHost {
 public:
  Worker(unsigned id, SnapshotPtr snapshot, std::vector<ListenerSocket> listeners,
         WorkerOptions options = {});
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs the event loop until stopped. Call on the worker's own thread. `ready` receives an empty
  // string once the ring is set up, or the reason it could not be.
  void run(std::promise<std::string> ready);
  // Graceful stop: stop accepting, let sessions finish for up to shutdown_grace, then close the
  // rest and return from run(). With `immediate` (an operator's second signal) the grace ends
  // now: open sessions are reset at once. Thread-safe, idempotent.
  void requestStop(bool immediate = false);
  // A stop for a binary upgrade: another process serves the same listening sockets from now on,
  // so what this worker's accepts still bring (racing its cancel) and what waits at a limit is
  // served rather than refused; otherwise as requestStop(). Thread-safe.
  void requestHandoff();
  // Posts a command to the worker's mailbox and wakes it; applied within one turn of its loop.
  // Thread-safe. Commands posted before run() are applied when it starts.
  void post(WorkerCommand command);

  // True once run() has returned (thread-safe).
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  // The worker's counters: written by the worker only, readable from any thread at any time.
  const stats::WorkerCounters& counters() const { return *counters_; }

 private:
  // What new connections of one snapshot need on this worker: the snapshot and a picker per
  // backend. The current one (intake_) serves the listeners; a listener whose address a reload
  // removed, and a connection queued at a limit, keep the one they were accepted under, so that
  // no index of one snapshot is ever used with another.
  struct Intake {
    SnapshotPtr snapshot;
    std::vector<std::unique_ptr<lb::Picker>> pickers;        // per backend: the primaries'
    std::vector<std::unique_ptr<lb::Picker>> backupPickers;  // null without backups
  };
  static std::shared_ptr<Intake> makeIntake(SnapshotPtr snapshot);

  struct Listener {
    ListenerSocket socket;     // socket.frontend indexes intake->snapshot's frontends
    std::shared_ptr<Intake> intake;
    bool armed = false;        // an accept is in flight
    bool cancelling = false;   // a cancel for it is in flight
    bool closed = false;
    // Its address left the configuration: it takes no new connections (net::refuseNewConnections)
    // and closes once the connections already in its accept queue are taken.
    bool retiring = false;
  };

  // --- loop (Worker.cc) ---
  void loop();
  // Looks ahead at a completion of the batch about to be dispatched: a standing receive's end of
  // stream lets the bytes before it leave with the FIN (Relay::foreseeEnd).
  void foresee(const io::Completion& completion);
  void dispatch(const io::Completion& completion);
  void onWake();
  // Writes the eventfd: the pending read completes and the loop turns.
  void wake();
  // Applies what the mailbox holds (a safe point: between batches of completions).
  void applyCommands();
  void apply(const CloseServerSessions& command);
  void apply(const UseSnapshot& command);  // use(), then counts itself off command.taken
  void use(const UseSnapshot& command);
  // A reload's listener set: kept descriptors take their new frontend index, new ones start
  // accepting, missing ones retire.
  void adoptListeners(const std::vector<ListenerSocket>& sockets);
  void retire(Listener& listener);
  // A retiring listener whose accept is no longer armed: takes what its queue holds, then
  // closes it (or tries again next turn if out of descriptors).
  void drainRetiring(uint32_t index);
  const Snapshot& current() const { return *intake_->snapshot; }
  // Makes counters_ ready for every slot `snapshot` names (before a session of it counts).
  void reserveCounters(const Snapshot& snapshot);
  void beginStop();
  void expireSessions();
  // How long the next wait may sleep: until the next timer, and not past kHeldAckWait while a
  // held handshake ACK is due (HeldAcks).
  std::chrono::microseconds nextWait() const;

  // --- accepting and limits (Accept.cc) ---
  void updateAccepting();
  bool mayAccept(const Intake& intake, uint16_t frontend) const;
  void onAccept(uint32_t listenerIndex, const io::Completion& completion);
  // A connection the kernel handed to `listener`: counts it as accepted, then starts its
  // session, queues it at a limit, or (stopping) refuses it.
  // `draining`: taken from a retiring listener's queue, which the kernel bounds (its backlog):
  // queued past kMaxPendingAccepts rather than refused.
  void admit(Listener& listener, int fd, bool draining = false);
  void startSession(int clientFd, Intake& intake, uint16_t frontend);

  // --- connecting and failover (Connect.cc) ---
  void connectNext(Session& session, uint32_t slot);
  void retrySocketWaiters();
  // Out of descriptors (EMFILE and the like): trims every worker's idle pipes and re-reads the
  // descriptor limit into the shared budget. Returns the budget.
  uint64_t refreshDescriptorBudget();
  // Applies the shared pipe-pool limit and trim requests to this worker's pool (each turn).
  void applyPipePoolLimits();
  void onConnect(Session& session, uint32_t slot, int result);
  // A turn after its connect (HeldAcks): sends the server the handshake's last ACK unless the
  // client's first bytes (or its end) are already on their way to carry it.
  void releaseHeldAck(uint32_t slot, uint32_t generation);

  // --- session lifecycle (SessionLifecycle.cc) ---
  // The single place where SessionState changes. Returns false (and changes nothing) for a
  // transition the state machine does not allow.
  bool transition(Session& session, uint32_t slot, SessionState to);
  // Starts closing: cancels in-flight operations; the session is freed once they completed.
  // `reason` is recorded unless one already was. A relaying session is always closed with a
  // reset unless both its directions ended cleanly (see Relay.h).
  void close(Session& session, uint32_t slot, bool reset, CloseReason reason);
  void maybeFree(Session& session, uint32_t slot);
  void scheduleExpiry(Session& session, uint32_t slot);
  Clock::time_point deadline(const Session& session) const;
  // Which side's timeout makes `deadline` (for the close reason).
  CloseReason expiredSide(const Session& session) const;
  uint64_t tag(Op op, uint32_t slot) const;

  // --- RelayHost ---
  Session& session(uint32_t slot) override { return sessions_.at(slot); }
  void endSession(Session& s, uint32_t slot, bool reset, CloseReason reason) override {
    close(s, slot, reset, reason);
  }
  void rescheduleExpiry(Session& s, uint32_t slot) override { scheduleExpiry(s, slot); }

  unsigned id_;
  std::shared_ptr<Intake> intake_;  // the current snapshot, for new connections
  // The process's shared counters (every snapshot points at the same object).
  std::shared_ptr<SharedCounters> shared_;
  WorkerOptions options_;
  std::vector<Listener> listeners_;
  std::unique_ptr<io::Ring> ring_;
  std::unique_ptr<io::BufferRing> buffers_;
  io::PipePool pipes_;
  std::unique_ptr<RelayIo> relayIo_;  // over ring_, buffers_ and pipes_ (created in run())
  std::unique_ptr<stats::WorkerCounters> counters_ = std::make_unique<stats::WorkerCounters>();
  std::unique_ptr<Relay> relay_;

  SessionTable sessions_;
  // Connections accepted while their frontend (or the process) was at a limit, oldest first.
  // Each waits at most its backend's connect timeout (HAProxy's `timeout queue` default), and a
  // full frontend never holds up another's.
  struct PendingAccept {
    int fd;
    uint16_t frontend;  // in intake's snapshot
    Clock::time_point since;
    std::shared_ptr<Intake> intake;  // the snapshot it was accepted under
  };
  std::deque<PendingAccept> pendingAccepts_;
  // True if a connection of the frontend with counter slot `frontendSlot` is queued (its
  // listeners then stay paused). By slot: queued connections may belong to older snapshots.
  bool hasPending(uint32_t frontendSlot) const;
  // Starts the queued connections that fit now, in order; drops those that waited too long.
  void servePending();
  // Sessions whose server socket could not be created (EMFILE and the like): their clients are
  // kept, not dropped, and retried after the resource backoff, before any new accept.
  std::deque<std::pair<uint32_t, uint32_t>> socketWaiters_;  // (slot, generation)
  HeldAcks heldAcks_;
  // The longest a turn with a held ACK due may wait for completions: what a server that speaks
  // first may wait for its connection, on an otherwise idle worker (a busy one turns sooner).
  // Batched waiting could stretch a turn to the policy's hold (200 us after a bulk turn): a turn
  // with a held ACK due holds no longer than this.
  static constexpr std::chrono::microseconds kHeldAckWait{100};
  // After cancelling a connect that timed out, when to cancel again should that cancel not
  // have landed (expireSessions).
  static constexpr std::chrono::seconds kCancelRetry{1};

  uint64_t pipeTrimEpoch_ = 0;

  // --- access log (SessionLifecycle.cc) ---
  // What only the access log needs of a session, by slot, kept only with an access log so
  // sessions stay small without one.
  struct LogInfo {
    std::array<char, 48> client{};  // "ip:port" or "[v6]:port"
    uint8_t clientLength = 0;
    uint32_t connectMs = UINT32_MAX;  // from the session's start; none yet
  };
  std::vector<LogInfo> logInfo_;
  fmt::memory_buffer logLine_;  // reused for every line
  void noteClient(uint32_t slot, const net::Address& peer);
  void logSession(const Session& s, uint32_t slot);
  Mailbox mailbox_;
  int wakeFd_ = -1;
  uint64_t wakeValue_ = 0;
  std::atomic<bool> stopRequested_{false};
  std::atomic<bool> stopNowRequested_{false};
  std::atomic<bool> handoff_{false};
  std::atomic<bool> finished_{false};
  bool stopping_ = false;
  Clock::time_point now_;
  Clock::time_point stopDeadline_;
  Clock::time_point acceptBackoffUntil_;
  // Rate limiting for warnings a flood of peers could otherwise repeat thousands of times a
  // second: at most one per kind per second per worker.
  enum class Warning : uint8_t { Accept, NoServer, Socket, Connect, Count };
  bool warnAllowed(Warning kind);
  // How long accepting pauses after running out of descriptors or memory.
  static constexpr std::chrono::milliseconds kResourceBackoff{100};
  // Connections accepted past a limit (racing our cancel) that are queued rather than refused.
  static constexpr std::size_t kMaxPendingAccepts = 256;
  std::array<Clock::time_point, static_cast<std::size_t>(Warning::Count)> lastWarning_{};
};

}  // namespace ringlb::proxy
