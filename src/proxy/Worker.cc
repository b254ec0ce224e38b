// The worker's event loop: submit, wait, dispatch a batch of completions, then the housekeeping
// that depends on time (expiries, accept pauses, graceful stop).
#include "ringlb/proxy/Worker.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <variant>

#include "ringlb/io/UserData.h"
#include "ringlb/net/Socket.h"
#include "RingRelayIo.h"

namespace ringlb::proxy {

namespace {
// How long after shutdown_grace a stopping worker waits for the completions of the operations
// it cancelled before giving up on them.
constexpr std::chrono::milliseconds kCancelAllowance{5000};
}  // namespace

Worker::Worker(unsigned id, SnapshotPtr snapshot, std::vector<ListenerSocket> listeners,
               WorkerOptions options)
    : id_(id),
      intake_(makeIntake(snapshot)),
      shared_(snapshot->counters),
      options_(options),
      pipes_(options.pipeSize, 0) {
  for (const ListenerSocket& socket : listeners) listeners_.push_back(Listener{socket, intake_});
  reserveCounters(*snapshot);
  // The pool keeps nothing until the control thread has derived its limit from the descriptor
  // budget (SharedCounters::pipePoolLimit, applied each loop turn).
  pipes_.countIn(&shared_->pooledPipes);
  pipeTrimEpoch_ = shared_->pipeTrimEpoch.load(std::memory_order_relaxed);
}

Worker::~Worker() {
  for (Listener& listener : listeners_) {
    if (!listener.closed) ::close(listener.socket.fd);
  }
  if (wakeFd_ >= 0) ::close(wakeFd_);
}

void Worker::requestStop(bool immediate) {
  if (immediate) stopNowRequested_.store(true, std::memory_order_release);
  stopRequested_.store(true, std::memory_order_release);
  wake();
}

void Worker::requestHandoff() {
  handoff_.store(true, std::memory_order_release);
  requestStop();
}

void Worker::post(WorkerCommand command) {
  mailbox_.post(std::move(command));
  wake();
}

void Worker::wake() {
  // The eventfd read pending in the ring completes and wakes the loop. Before run() created it
  // the flags alone are enough: the loop checks them before its first wait.
  const int fd = wakeFd_;
  if (fd >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
  }
}

void Worker::applyCommands() {
  for (const WorkerCommand& command : mailbox_.take()) {
    std::visit([this](const auto& c) { apply(c); }, command);
  }
}

std::shared_ptr<Worker::Intake> Worker::makeIntake(SnapshotPtr snapshot) {
  auto intake = std::make_shared<Intake>();
  for (const BackendRuntime& backend : snapshot->backends) {
    intake->pickers.push_back(backend.primary.balancer->makePicker());
    intake->backupPickers.push_back(backend.backup ? backend.backup->balancer->makePicker() : nullptr);
  }
  intake->snapshot = std::move(snapshot);
  return intake;
}

void Worker::apply(const UseSnapshot& command) {
  use(command);
  // Counted whether used or refused: the control thread waits for every worker's answer.
  if (command.taken && command.taken->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    command.taken->done();
  }
}

void Worker::use(const UseSnapshot& command) {
  // Sessions hold their own snapshot (Session::snapshot): swapping ours changes only what new
  // connections get. Round-robin and random pickers restart their sequences: harmless.
  if (command.snapshot->counters != shared_) {
    // Limits would be counted in two places: a bug in whoever built the snapshot.
    spdlog::error("worker {}: a snapshot with other shared counters was ignored", id_);
    return;
  }
  reserveCounters(*command.snapshot);
  intake_ = makeIntake(command.snapshot);
  if (command.listeners) {
    adoptListeners(*command.listeners);
    return;
  }
  // Same configuration: same frontend indexes.
  for (Listener& l : listeners_) {
    if (!l.closed && !l.retiring) l.intake = intake_;
  }
}

void Worker::adoptListeners(const std::vector<ListenerSocket>& sockets) {
  std::vector<bool> known(sockets.size(), false);
  for (Listener& l : listeners_) {
    if (l.closed || l.retiring) continue;
    const auto it = std::find_if(sockets.begin(), sockets.end(),
                                 [&](const ListenerSocket& s) { return s.fd == l.socket.fd; });
    if (it == sockets.end()) {
      retire(l);
      continue;
    }
    known[static_cast<std::size_t>(it - sockets.begin())] = true;
    l.socket.frontend = it->frontend;
    l.intake = intake_;
  }
  for (std::size_t i = 0; i < sockets.size(); ++i) {
    if (known[i]) continue;
    // A closed listener's slot with nothing in flight is free: its index (the accept's tag) can
    // name the new one without an old completion being taken for it.
    auto slot = std::find_if(listeners_.begin(), listeners_.end(), [](const Listener& l) {
      return l.closed && !l.armed && !l.cancelling;
    });
    Listener fresh{sockets[i], intake_};
    if (slot != listeners_.end()) {
      *slot = std::move(fresh);
    } else {
      listeners_.push_back(std::move(fresh));
    }
  }
  // updateAccepting() arms the new ones and drains the retiring ones this turn.
}

void Worker::retire(Listener& l) {
  // First no new handshakes (the filter drops SYNs and the final ACKs of half-open ones), so the
  // queue can only shrink; then the accept is cancelled, and updateAccepting() takes what is
  // queued and closes the socket. Closing it with connections queued would reset them.
  if (const int rc = net::refuseNewConnections(l.socket.fd); rc < 0) {
    spdlog::warn("worker {}: cannot filter a retiring listener ({}); draining it anyway", id_,
                 std::strerror(-rc));
  }
  l.retiring = true;
  if (l.armed && !l.cancelling) {
    ring_->cancel(tag(Op::Accept, static_cast<uint32_t>(&l - listeners_.data())), tag(Op::Cancel, 0));
    l.cancelling = true;
  }
}

void Worker::reserveCounters(const Snapshot& snapshot) {
  // Past the tables' capacity (262,144 servers over the process's life) counting would write
  // out of bounds; the control plane never names that many, but say so rather than corrupt.
  const bool ok = counters_->frontends.reserve(snapshot.slotLimits.frontends) &&
                  counters_->backends.reserve(snapshot.slotLimits.backends) &&
                  counters_->servers.reserve(snapshot.slotLimits.servers);
  if (!ok) {
    spdlog::critical("worker {}: more counter slots than the tables hold; aborting", id_);
    spdlog::default_logger()->flush();
    std::abort();
  }
}

void Worker::apply(const CloseServerSessions& command) {
  std::size_t closed = 0;
  for (uint32_t slot = 0; slot < sessions_.slots(); ++slot) {
    Session& s = sessions_.at(slot);
    if (s.state != SessionState::Connecting && s.state != SessionState::Relaying) continue;
    if (!s.serverCounted || s.snapshot->backends[s.backend].live->record(s.server) != command.server) {
      continue;
    }
    close(s, slot, true, command.reason);
    ++closed;
  }
  if (closed > 0) {
    spdlog::info("worker {}: closed {} sessions of a server ({})", id_, closed, toString(command.reason));
  }
}

void Worker::run(std::promise<std::string> ready) {
  std::string error;
  io::Ring::Options ringOptions;
  ringOptions.entries = options_.ringEntries;
  ring_ = io::Ring::create(ringOptions, &error);
  if (ring_) {
    const config::Global& global = current().config->global;
    buffers_ = io::BufferRing::create(*ring_, 0, global.buffers, global.bufferSize, &error);
  }
  if (ring_ && buffers_) {
    wakeFd_ = ::eventfd(0, EFD_CLOEXEC);
    if (wakeFd_ < 0) error = std::string("eventfd: ") + std::strerror(errno);
  }
  if (!error.empty()) {
    ready.set_value("worker " + std::to_string(id_) + ": " + error);
    return;
  }
  relayIo_ = std::make_unique<RingRelayIo>(*ring_, *buffers_, pipes_, *shared_,
                                           options_.standingReceive);
  relay_ = std::make_unique<Relay>(*relayIo_, static_cast<RelayHost&>(*this), now_, *counters_,
                                   options_.relay);
  if (id_ == 0) spdlog::info("io_uring features:{}", " " + ring_->features().describe());
  ready.set_value({});
  ring_->read(wakeFd_, &wakeValue_, sizeof wakeValue_, tag(Op::Wake, 0));
  loop();
  finished_.store(true, std::memory_order_release);
}

void Worker::loop() {
  now_ = Clock::now();
  std::size_t lastBatch = 0;
  for (;;) {
    if (stopRequested_.load(std::memory_order_acquire) && !stopping_) beginStop();
    if (stopping_ && stopNowRequested_.load(std::memory_order_acquire) && stopDeadline_ > now_) {
      stopDeadline_ = now_;  // a second signal: the grace is over now
    }
    updateAccepting();
    if (stopping_) {
      const bool listenersDone = [this] {
        for (const Listener& l : listeners_) {
          if (!l.closed) return false;
        }
        return true;
      }();
      if (sessions_.live() == 0 && listenersDone && pendingAccepts_.empty()) break;
      if (now_ >= stopDeadline_ + kCancelAllowance) {
        // Every cancelled operation should have completed long ago. Rather than hang the
        // process on a completion the kernel never posts, leave: exit closes the sockets.
        spdlog::error("worker {}: {} sessions still waiting for cancelled operations {} ms after "
                      "the grace period; exiting anyway",
                      id_, sessions_.live(), kCancelAllowance.count());
        break;
      }
      if (now_ >= stopDeadline_) {
        // Grace is over: close what is left. Sessions already closing just finish cancelling.
        for (const PendingAccept& pending : pendingAccepts_) net::closeWithReset(pending.fd);
        pendingAccepts_.clear();
        for (uint32_t slot = 0; slot < sessions_.slots(); ++slot) {
          Session& s = sessions_.at(slot);
          if (s.state == SessionState::Connecting || s.state == SessionState::Relaying) {
            close(s, slot, true, CloseReason::Shutdown);
          }
        }
      }
    }
    // Batched waiting (WaitPolicy): wake once per batch when busy or moving bulk data.
    WaitPolicy::Wait batching = options_.waitPolicy.next(lastBatch, relay_->takeTurnBytes());
    if (heldAcks_.due()) {
      batching.holdUsec = std::min<unsigned>(batching.holdUsec, static_cast<unsigned>(kHeldAckWait.count()));
    }
    const auto completions = ring_->wait(nextWait(), batching.batch, batching.holdUsec);
    // Read the clock right after the wait, before dispatching: activity recorded by this batch
    // must carry the time it happened, not the time the worker went to sleep (that stamp would
    // cut a connection that sends once per idle spell a whole wait too early).
    now_ = Clock::now();
    // Commands first: one posted before a client connected (the admin socket replies once its
    // change is posted) applies to that client's accept even when the wake-up and the accept
    // complete in the same batch.
    applyCommands();
    lastBatch = completions.size();
    counters_->add(stats::WorkerStat::Completions, completions.size());
    counters_->worker[static_cast<std::size_t>(stats::WorkerStat::Submissions)].set(ring_->prepared());
    for (const io::Completion& completion : completions) foresee(completion);
    for (const io::Completion& completion : completions) dispatch(completion);
    expireSessions();
    // Every turn must reach this (no `continue` above): HeldAcks counts turns by it.
    heldAcks_.endTurn([this](uint32_t slot, uint32_t generation) { releaseHeldAck(slot, generation); });
  }
  spdlog::debug("worker {} stopped", id_);
}

std::chrono::microseconds Worker::nextWait() const {
  using std::chrono::milliseconds;
  // Paused listeners poll the shared counters: another worker freeing a connection does not wake
  // us, so a paused worker looks again every 50 ms.
  bool paused = false;
  for (const Listener& l : listeners_) paused |= !l.armed && !l.closed;
  milliseconds wait = paused ? milliseconds(50) : milliseconds(1000);
  if (const auto next = sessions_.nextExpiry()) {
    const auto until = std::chrono::duration_cast<milliseconds>(*next - now_) + milliseconds(1);
    wait = std::min(wait, std::max(until, milliseconds(1)));
  }
  if (stopping_) {
    const auto until = std::chrono::duration_cast<milliseconds>(stopDeadline_ - now_) + milliseconds(1);
    wait = std::min(wait, std::max(until, milliseconds(1)));
  }
  if (heldAcks_.due()) return std::min<std::chrono::microseconds>(wait, kHeldAckWait);
  return wait;
}

void Worker::foresee(const io::Completion& completion) {
  // Only what cannot be undone by an earlier completion of the batch: a standing receive's end
  // of stream (res 0) is the kernel's final word on that source.
  if (completion.res != 0) return;
  const io::UserData ud = io::UserData::decode(completion.userData);
  const auto op = static_cast<Op>(ud.op);
  if (op != Op::ClientReceive && op != Op::ServerReceive) return;
  if (Session* s = sessions_.lookup(ud.slot, ud.generation)) {
    relay_->foreseeEnd(*s, op == Op::ClientReceive);
  }
}

void Worker::dispatch(const io::Completion& completion) {
  const io::UserData ud = io::UserData::decode(completion.userData);
  switch (static_cast<Op>(ud.op)) {
    case Op::Accept:
      onAccept(ud.slot, completion);
      return;
    case Op::Wake:
      onWake();
      return;
    case Op::Cancel:
      return;
    case Op::Connect:
    case Op::ClientToServer:
    case Op::ServerToClient:
    case Op::ClientReceive:
    case Op::ServerReceive:
      break;
  }
  Session* found = sessions_.lookup(ud.slot, ud.generation);
  if (found == nullptr) {
    // A completion for a session that no longer exists. None should carry a buffer (a session
    // is freed only after its last completion); should one, it goes back, or the ring would
    // shrink for good.
    relay_->discardBuffer(completion);
    return;
  }
  Session& session = *found;
  switch (static_cast<Op>(ud.op)) {
    case Op::Connect:
      --session.inflight;
      onConnect(session, ud.slot, completion.res);
      break;
    case Op::ClientToServer:
    case Op::ServerToClient:
      relay_->onCompletion(session, ud.slot, static_cast<Op>(ud.op) == Op::ClientToServer,
                           completion);
      maybeFree(session, ud.slot);
      break;
    case Op::ClientReceive:
    case Op::ServerReceive:
      relay_->onStanding(session, ud.slot, static_cast<Op>(ud.op) == Op::ClientReceive, completion);
      maybeFree(session, ud.slot);
      break;
    default:
      break;
  }
}

void Worker::onWake() {
  if (stopRequested_.load(std::memory_order_acquire) && !stopping_) beginStop();
  // Stay armed while stopping too: an immediate stop may still come.
  ring_->read(wakeFd_, &wakeValue_, sizeof wakeValue_, tag(Op::Wake, 0));
}

void Worker::beginStop() {
  stopping_ = true;
  stopDeadline_ = now_ + current().config->global.shutdownGrace;
  spdlog::debug("worker {} stopping: {} sessions open", id_, sessions_.live());
  // Connections accepted but not yet served are closed now: they have sent nothing we owe them.
  // They were never counted against the limits (see Accept.cc). In a handoff they are served:
  // the service goes on, only this process leaves.
  if (handoff_.load(std::memory_order_acquire)) return;
  for (const PendingAccept& pending : pendingAccepts_) ::close(pending.fd);
  pendingAccepts_.clear();
}

void Worker::expireSessions() {
  while (const auto slot = sessions_.popExpired(now_)) {
    Session& s = sessions_.at(*slot);
    if (s.state == SessionState::Connecting) {
      // A session parked for a socket (serverFd < 0) is timed by retrySocketWaiters, and its
      // next attempt queues a deadline of its own.
      if (s.serverFd < 0) continue;
      if (const Clock::time_point due = deadline(s); due > now_) {
        sessions_.scheduleExpiry(*slot, due);  // an entry of an earlier attempt
        continue;
      }
      // The attempt timed out: cancelled, the connect completes with -ECANCELED and onConnect
      // fails over or closes, as for any connect error. Should it have completed meanwhile,
      // the cancel finds nothing and the completion stands. Should the cancel not land, the
      // spare deadline a second on cancels again (a session never waits on the kernel's own
      // SYN retries, about two minutes).
      ring_->cancelFd(s.serverFd, tag(Op::Cancel, 0));
      sessions_.scheduleExpiry(*slot, now_ + kCancelRetry);
      continue;
    }
    Clock::time_point due = deadline(s);
    if (s.c2s.state == DirectionState::WaitBuffer || s.s2c.state == DirectionState::WaitBuffer) {
      // Parked for a provided buffer: the idleness is ours (the ring is empty), not the peer's.
      // Timing the session out would punish it for other sessions holding every buffer.
      due = std::max(due, now_ + std::chrono::seconds(1));
    }
    if (due > now_) {
      // Activity moved the deadline since this entry was queued: queue the new one. Entries are
      // pushed per timeout period, not per byte, which keeps the heap small and cheap.
      sessions_.scheduleExpiry(*slot, due);
      continue;
    }
    // The peers must not take a cut stream for a complete one: a timeout resets (see Relay.h),
    // once what a peer is still taking of a complete stream has drained. A session that times
    // out again while draining (its peer stopped taking bytes) is reset outright.
    if (s.pendingEnd == CloseReason::None) {
      relay_->end(s, *slot, expiredSide(s));
    } else {
      close(s, *slot, true, s.pendingEnd);
    }
  }
}

}  // namespace ringlb::proxy
