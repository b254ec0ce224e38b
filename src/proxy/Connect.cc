// Connecting to a server, with failover along the balancer's ranking: on refusal or timeout the
// next candidate is tried, up to `retries` more attempts, never the same server twice in a row
// unless it is the only one.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>

#include "ringlb/net/Socket.h"
#include "ringlb/proxy/Worker.h"

namespace ringlb::proxy {

namespace {
// Whether this session's server handshake ACK is held for the client's first bytes
// (tcp_smart_connect; docs/architecture.md "The handshake's last ACK"). Only where those bytes
// are known to be waiting already: the frontend defers accept, so the kernel handed the
// connection over with its request (HAProxy's rule too: it holds the ACK only with the request
// buffered). Holding it on a guess keeps the server's request half-open for loop turns; a burst
// of such connections fills the server's SYN queue and turns it to SYN cookies, and with
// cookies a late ACK from the proxy's TIME-WAIT socket can open a connection the proxy never
// knew (AbandonTest found backends left with such connections open).
bool holdsHandshakeAck(const Session& s) {
  const config::Config& config = *s.snapshot->config;
  return config.backends[s.backend].tcpSmartConnect && config.frontends[s.frontend].deferAccept;
}
}  // namespace

void Worker::connectNext(Session& s, uint32_t slot) {
  const config::Backend& backend = s.snapshot->config->backends[s.backend];
  const BackendRuntime& runtime = s.snapshot->backends[s.backend];
  // With fewer candidates than attempts, cycle: consecutive attempts still differ when there
  // are at least two servers.
  s.server = s.candidates.index[s.attempt % s.candidates.count];
  ++s.attempt;
  const config::Server& server = backend.servers[s.server];
  const int fd = net::createStreamSocket(server.address.family());
  if (fd < 0) {
    --s.attempt;  // not an attempt on the server: nothing was sent to it
    if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
      // Out of descriptors or memory. Dropping the client would turn a transient shortage into
      // lost connections; instead the session waits (its client already accepted) and accepting
      // pauses, so further clients wait in the kernel backlog. Retried after the backoff.
      acceptBackoffUntil_ = now_ + kResourceBackoff;
      const uint64_t budget = refreshDescriptorBudget();
      const uint64_t active = shared_->active.load(std::memory_order_relaxed);
      if (warnAllowed(Warning::Socket)) {
        spdlog::warn("backend '{}': cannot create a socket: {}; pausing accepts for {}ms "
                     "({} sessions, descriptor budget {})",
                     backend.name, std::strerror(-fd), kResourceBackoff.count(), active, budget);
      }
      if (active > budget) {
        // More sessions than the limit can ever serve (accepted in one burst before the limit
        // was known): parking them would only let them starve each other. Shed the excess.
        counters_->add(s.backendSlot, stats::BackendStat::ConnectErrors);
        close(s, slot, false, CloseReason::ResourceShortage);
        return;
      }
      socketWaiters_.emplace_back(slot, s.generation);
      return;
    }
    counters_->add(s.backendSlot, stats::BackendStat::ConnectErrors);
    if (warnAllowed(Warning::Socket)) {
      spdlog::error("backend '{}': cannot create a socket: {}", backend.name, std::strerror(-fd));
    }
    close(s, slot, false, CloseReason::ConnectFailed);
    return;
  }
  // The handshake's last ACK rides in the first bytes sent (HeldAcks). Best effort: where the
  // option fails the kernel sends the ACK alone, as it would without it.
  if (holdsHandshakeAck(s)) (void)net::holdHandshakeAck(fd);
  s.serverFd = fd;
  runtime.live->acquire(s.server);
  s.serverCounted = true;
  s.serverSlot = runtime.live->record(s.server)->id;
  s.serverActive = now_;  // the attempt's start, for its connect time
  if (s.attempt > 1) counters_->add(s.backendSlot, stats::BackendStat::Retries);
  ring_->connect(fd, server.address.sockaddr_ptr(), server.address.length(), tag(Op::Connect, slot));
  ++s.inflight;
  // Timed out by the expiry queue (Worker::expireSessions cancels the connect; it completes with
  // -ECANCELED), not by a linked timeout: one SQE and one completion fewer per connection.
  scheduleExpiry(s, slot);
}

void Worker::retrySocketWaiters() {
  while (!socketWaiters_.empty() && now_ >= acceptBackoffUntil_) {
    const auto [slot, generation] = socketWaiters_.front();
    socketWaiters_.pop_front();
    Session& s = sessions_.at(slot);
    if (s.generation != generation || s.state != SessionState::Connecting || s.serverFd >= 0) continue;
    // Parked sessions hold client descriptors: waiting forever would let them starve each other
    // (and ignore clients that left). Past the connect timeout they fail like a connect would.
    const config::Backend& backend = s.snapshot->config->backends[s.backend];
    if (now_ - s.clientActive >= backend.timeouts.connect) {
        counters_->add(s.backendSlot, stats::BackendStat::ConnectErrors);
      close(s, slot, false, CloseReason::ResourceShortage);
      continue;
    }
    connectNext(s, slot);  // may park it again and restart the backoff, ending this loop
  }
}

void Worker::onConnect(Session& s, uint32_t slot, int result) {
  if (s.state != SessionState::Connecting) {
    maybeFree(s, slot);
    return;
  }
  lb::LiveServer& server = s.snapshot->backends[s.backend].live->at(s.server);
  if (result == 0) {
    // Passive health: a connect that works ends the server's run of failures (a relaxed store
    // only when there is a run, so a healthy server's line is not written on every connect).
    if (server.failureStreak.load(std::memory_order_relaxed) != 0) {
      server.failureStreak.store(0, std::memory_order_relaxed);
    }
    counters_->connected(s.serverSlot, static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now_ - s.serverActive).count()));
    s.serverActive = now_;  // the server's idle time starts now
    if (options_.accessLog != nullptr) {
      logInfo_[slot].connectMs = static_cast<uint32_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(now_ - s.started).count());
    }
    transition(s, slot, SessionState::Relaying);
    if (holdsHandshakeAck(s)) heldAcks_.hold(slot, s.generation);
    relay_->start(s, slot);
    return;
  }
  const config::Backend& backend = s.snapshot->config->backends[s.backend];
  counters_->add(s.backendSlot, stats::BackendStat::ConnectErrors);
  counters_->add(s.serverSlot, stats::ServerStat::ConnectErrors);
  // Passive health: the control thread reads the run (HealthChecker) and marks the server down
  // once it reaches passive.consecutive_failures, before its next active check.
  server.failureStreak.fetch_add(1, std::memory_order_relaxed);
  // A dead server fails every connection sent its way: say so where an operator looks, but at
  // most once a second per worker (the count carries the rest), never once per connection.
  const char* reason = result == -ECANCELED ? "timeout" : std::strerror(-result);
  if (warnAllowed(Warning::Connect)) {
    spdlog::warn("backend '{}': connect to server '{}' ({}) failed: {}; {} failed connects to "
                 "the server on worker {} so far", backend.name, backend.servers[s.server].name,
                 backend.servers[s.server].address.toString(), reason,
                 counters_->servers.read(s.serverSlot, static_cast<std::size_t>(stats::ServerStat::ConnectErrors)),
                 id_);
  } else {
    spdlog::debug("backend '{}': connect to server '{}' failed: {}", backend.name,
                  backend.servers[s.server].name, reason);
  }
  ::close(s.serverFd);
  s.serverFd = -1;
  s.snapshot->backends[s.backend].live->release(s.server);
  s.serverCounted = false;
  if (s.attempt <= backend.retries) {
    connectNext(s, slot);
  } else {
    close(s, slot, false, CloseReason::ConnectFailed);
  }
}

void Worker::releaseHeldAck(uint32_t slot, uint32_t generation) {
  Session* s = sessions_.lookup(slot, generation);
  // A session that ended has closed (or reset) its server socket: nothing is held any more.
  if (s == nullptr || s->state != SessionState::Relaying || s->serverFd < 0) return;
  if (s->c2s.heardFromSource()) return;  // its first segment carries the ACK
  // The client waits for the server to speak first. Failure changes nothing the kernel would not
  // fix itself: its delayed-ACK timer sends the ACK within 200 ms.
  (void)net::sendHeldAck(s->serverFd);
}

}  // namespace ringlb::proxy
