// Accepting: one multishot accept per listener, paused and resumed against the connection limits
// and after resource exhaustion, so that the kernel backlog (not our memory) absorbs overload.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ringlb/net/Socket.h"
#include "ringlb/proxy/Worker.h"

namespace ringlb::proxy {

bool Worker::mayAccept(const Intake& intake, uint16_t frontend) const {
  const config::Config& cfg = *intake.snapshot->config;
  const SharedCounters& counters = *shared_;
  const uint64_t active = counters.active.load(std::memory_order_relaxed);
  if (active >= cfg.global.maxConnections) return false;
  // Pipes in use hold descriptors like sessions do: both come out of the same budget.
  if (active + counters.pipesInUse.load(std::memory_order_relaxed) >=
      counters.descriptorBudget.load(std::memory_order_relaxed)) {
    return false;
  }
  const uint64_t frontendMax = cfg.frontends[frontend].maxConnections;
  return frontendMax == 0 ||
         counters.frontendActive[intake.snapshot->frontendSlots[frontend]].load(std::memory_order_relaxed) <
             frontendMax;
}

void Worker::updateAccepting() {
  applyPipePoolLimits();
  retrySocketWaiters();
  // Connections the kernel handed us while we were at a limit are served first, in order, but
  // not ahead of sessions already parked for a descriptor, nor during a resource backoff.
  const bool backoff = now_ < acceptBackoffUntil_;
  const bool handoff = handoff_.load(std::memory_order_relaxed);
  if ((!stopping_ || handoff) && !backoff && socketWaiters_.empty()) servePending();
  for (uint32_t i = 0; i < listeners_.size(); ++i) {
    Listener& l = listeners_[i];
    if (l.closed) continue;
    if (l.retiring && !stopping_) {
      if (!l.armed && !backoff) drainRetiring(i);
      continue;
    }
    const Snapshot& snapshot = *l.intake->snapshot;
    const bool want = !stopping_ && !backoff && !hasPending(snapshot.frontendSlots[l.socket.frontend]) &&
                      socketWaiters_.empty() && mayAccept(*l.intake, l.socket.frontend);
    if (want && !l.armed) {
      ring_->accept(l.socket.fd, tag(Op::Accept, i));
      l.armed = true;
    } else if (!want && l.armed && !l.cancelling) {
      // The multishot accept ends with a final completion (no MORE flag) once cancelled.
      ring_->cancel(tag(Op::Accept, i), tag(Op::Cancel, 0));
      l.cancelling = true;
    } else if (stopping_ && !l.armed) {
      ::close(l.socket.fd);
      l.closed = true;
      l.intake.reset();
    }
  }
}

void Worker::drainRetiring(uint32_t index) {
  // Nothing new reaches the queue (the filter), so taking until EAGAIN empties it for good.
  for (;;) {
    Listener& l = listeners_[index];  // admit() may not add listeners, but stay index-based
    const int fd = ::accept4(l.socket.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      admit(l, fd, true);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      // Try again after the backoff: closing now would reset what is still queued.
      acceptBackoffUntil_ = now_ + kResourceBackoff;
      refreshDescriptorBudget();
      return;
    }
    // EAGAIN: empty. Anything else: the socket is unusable; closing is all that is left.
    ::close(l.socket.fd);
    l.closed = true;
    l.retiring = false;
    l.intake.reset();
    return;
  }
}

bool Worker::hasPending(uint32_t frontendSlot) const {
  for (const PendingAccept& p : pendingAccepts_) {
    if (p.intake->snapshot->frontendSlots[p.frontend] == frontendSlot) return true;
  }
  return false;
}

void Worker::servePending() {
  for (auto it = pendingAccepts_.begin(); it != pendingAccepts_.end();) {
    const PendingAccept p = *it;
    const config::Config& cfg = *p.intake->snapshot->config;
    const config::Frontend& frontend = cfg.frontends[p.frontend];
    const config::Duration queueTimeout = cfg.backends[frontend.backendIndex].timeouts.connect;
    if (now_ - p.since >= queueTimeout) {
      // Waited its queue timeout: refuse it. A reset says "not served", where a FIN would say
      // the server answered with nothing.
      net::closeWithReset(p.fd);
      counters_->add(p.intake->snapshot->frontendSlots[p.frontend], stats::FrontendStat::Limited);
      it = pendingAccepts_.erase(it);
      if (warnAllowed(Warning::Accept)) {
        spdlog::warn("frontend '{}': a connection waited {} ms at the connection limit; refused",
                     frontend.name, queueTimeout.count());
      }
    } else if (mayAccept(*p.intake, p.frontend)) {
      it = pendingAccepts_.erase(it);
      startSession(p.fd, *p.intake, p.frontend);
    } else {
      ++it;  // its frontend is still full; later entries of other frontends may fit
    }
  }
}

void Worker::onAccept(uint32_t listenerIndex, const io::Completion& completion) {
  Listener& l = listeners_[listenerIndex];
  if (!completion.more()) {
    l.armed = false;
    l.cancelling = false;
  }
  const int res = completion.res;
  if (res >= 0) {
    admit(l, res);
    return;
  }
  switch (-res) {
    case ECANCELED:
      return;  // we paused it
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      // Out of descriptors or memory. Retrying at once would spin on the same error; pausing
      // leaves the connections in the kernel backlog until sessions close and free resources.
      acceptBackoffUntil_ = now_ + kResourceBackoff;
      refreshDescriptorBudget();
      if (warnAllowed(Warning::Accept)) {
        spdlog::warn("worker {}: accept failed: {}; pausing accepts for 100ms ({} sessions open)",
                     id_, std::strerror(-res), sessions_.live());
      }
      return;
    default:
      // ECONNABORTED and friends: the client gave up before we took it; nothing to do.
      return;
  }
}

void Worker::admit(Listener& l, int fd, bool draining) {
  const uint32_t frontendSlot = l.intake->snapshot->frontendSlots[l.socket.frontend];
  counters_->add(frontendSlot, stats::FrontendStat::Accepted);
  if (stopping_ && !handoff_.load(std::memory_order_relaxed)) {
    net::closeWithReset(fd);  // refused: a reset says "not served", a FIN "served nothing"
  } else if (!mayAccept(*l.intake, l.socket.frontend) || hasPending(frontendSlot)) {
    // Raced with our own cancel: keep it, in order, until there is room. A multishot accept
    // can drain a whole backlog in one go, so the queue is capped; beyond it the connection
    // is refused (reset) rather than held without limit.
    if (pendingAccepts_.size() < kMaxPendingAccepts || draining) {
      pendingAccepts_.push_back(PendingAccept{fd, l.socket.frontend, now_, l.intake});
    } else {
      net::closeWithReset(fd);
      counters_->add(frontendSlot, stats::FrontendStat::Limited);
      if (warnAllowed(Warning::Accept)) {
        spdlog::warn("worker {}: at the connection limit with {} accepted connections queued; "
                     "refusing more", id_, pendingAccepts_.size());
      }
    }
  } else {
    startSession(fd, *l.intake, l.socket.frontend);
  }
}

uint64_t Worker::refreshDescriptorBudget() {
  // Out of descriptors: every worker's idle pipes go first (they are only a speed-up), then the
  // budget and the pools' limit follow the current RLIMIT_NOFILE.
  SharedCounters& counters = *shared_;
  counters.pipeTrimEpoch.fetch_add(1, std::memory_order_relaxed);
  applyPipePoolLimits();
  return proxy::refreshDescriptorBudget(counters, current().config->global.maxConnections,
                                        options_.pipePoolIdle);
}

void Worker::applyPipePoolLimits() {
  SharedCounters& counters = *shared_;
  const uint64_t epoch = counters.pipeTrimEpoch.load(std::memory_order_relaxed);
  if (epoch != pipeTrimEpoch_) {
    pipeTrimEpoch_ = epoch;
    const bool hadIdle = pipes_.idle() > 0;
    pipes_.trim();
    // The budget subtracts pooled pipes: recount now that ours are gone, or the budget computed
    // before the other workers trimmed would stay low until the next EMFILE (which a paused
    // worker never meets).
    if (hadIdle) {
      proxy::refreshDescriptorBudget(counters, current().config->global.maxConnections,
                                     options_.pipePoolIdle);
    }
  }
  const uint64_t limit = counters.pipePoolLimit.load(std::memory_order_relaxed);
  if (limit != pipes_.maxIdle()) pipes_.setMaxIdle(limit);
}

bool Worker::warnAllowed(Warning kind) {
  Clock::time_point& last = lastWarning_[static_cast<std::size_t>(kind)];
  if (last != Clock::time_point{} && now_ - last < std::chrono::seconds(1)) return false;
  last = now_;
  return true;
}

void Worker::startSession(int clientFd, Intake& intake, uint16_t frontendIndex) {
  const Snapshot& snapshot = *intake.snapshot;
  const config::Config& cfg = *snapshot.config;
  const config::Frontend& frontend = cfg.frontends[frontendIndex];
  const config::Backend& backend = cfg.backends[frontend.backendIndex];

  const uint32_t slot = sessions_.allocate();
  Session& s = sessions_.at(slot);
  s.clientFd = clientFd;
  s.frontend = frontendIndex;
  s.backend = static_cast<uint16_t>(frontend.backendIndex);
  s.snapshot = intake.snapshot;
  s.frontendSlot = static_cast<uint16_t>(snapshot.frontendSlots[frontendIndex]);
  s.backendSlot = static_cast<uint16_t>(snapshot.backendSlots[s.backend]);
  s.started = s.clientActive = s.serverActive = now_;
  counters_->add(s.frontendSlot, stats::FrontendStat::Sessions);
  counters_->add(s.backendSlot, stats::BackendStat::Opened);
  shared_->active.fetch_add(1, std::memory_order_relaxed);
  shared_->frontendActive[s.frontendSlot].fetch_add(1, std::memory_order_relaxed);
  transition(s, slot, SessionState::Connecting);

  const BackendRuntime& runtime = snapshot.backends[s.backend];
  lb::PickInput input;
  // The client's address is the affinity key, needed only by rendezvous, and the access log's
  // first field: without either, the getpeername system call is skipped. Failing getpeername
  // means the client is already gone: hashing an empty key is harmless, the connect or relay
  // will notice.
  const bool rendezvous = backend.balance == lb::Algorithm::Rendezvous;
  net::Address peer;
  if (rendezvous || options_.accessLog != nullptr) peer = net::peerAddress(clientFd);
  if (options_.accessLog != nullptr) noteClient(slot, peer);
  if (rendezvous) {
    uint8_t key[18] = {};
    const auto ip = peer.ipBytes();
    std::size_t keyLength = ip.size();
    std::copy(ip.begin(), ip.end(), key);
    if (backend.hashKey == lb::HashKey::SourceIpPort) {
      const uint16_t port = peer.port();
      key[keyLength++] = static_cast<uint8_t>(port >> 8);
      key[keyLength++] = static_cast<uint8_t>(port & 0xff);
    }
    input.keyHash = lb::hashClientKey({key, keyLength}, cfg.global.hashSeed);
  }
  const std::size_t want = std::min<std::size_t>(backend.retries + 1, lb::kMaxCandidates);
  rankServers(runtime, *intake.pickers[s.backend], intake.backupPickers[s.backend].get(), input, want,
              s.candidates);
  if (s.candidates.count == 0) {
    counters_->add(s.backendSlot, stats::BackendStat::NoServer);
    if (warnAllowed(Warning::NoServer)) {
      spdlog::warn("backend '{}': no server available; closing client", backend.name);
    }
    close(s, slot, false, CloseReason::NoServer);
    return;
  }
  connectNext(s, slot);
}

}  // namespace ringlb::proxy
