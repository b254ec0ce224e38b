// The session state machine: the one place where SessionState changes, and the closing
// protocol (cancel, wait for every in-flight completion, then free).
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "ringlb/io/UserData.h"
#include "ringlb/log/AccessFormat.h"
#include "ringlb/log/AccessRecord.h"
#include "ringlb/net/Socket.h"
#include "ringlb/proxy/Worker.h"

#include <algorithm>

namespace ringlb::proxy {

// Sessions closed are counted by reason in a fixed array; Internal is the last reason.
static_assert(static_cast<std::size_t>(CloseReason::Internal) < stats::kCloseReasons);


bool Worker::transition(Session& s, uint32_t slot, SessionState to) {
  if (!transitionAllowed(s.state, to)) {
    spdlog::error("worker {}: session {} refused transition {} -> {}", id_, slot,
                  static_cast<int>(s.state), static_cast<int>(to));
    return false;
  }
  s.state = to;
  switch (to) {
    case SessionState::Connecting:
      break;
    case SessionState::Relaying:
      scheduleExpiry(s, slot);
      break;
    case SessionState::Closing:
      // Operations in flight hold references to the sockets: closing the fds would not stop
      // them. Cancel them; their completions arrive with -ECANCELED (or their result if they
      // raced) and maybeFree() frees the session after the last one.
      if (s.inflight > 0) {
        if (s.clientFd >= 0) ring_->cancelFd(s.clientFd, tag(Op::Cancel, 0));
        if (s.serverFd >= 0) ring_->cancelFd(s.serverFd, tag(Op::Cancel, 0));
        // A direction's timer (Backoff, Flush) is tied to no descriptor: cancel it by its tag.
        for (const bool c2s : {true, false}) {
          if (hasTimerInFlight((c2s ? s.c2s : s.s2c).state)) {
            ring_->cancel(Relay::tag(s, slot, c2s), tag(Op::Cancel, 0));
          }
        }
      }
      break;
    case SessionState::Free: {
      auto closeFd = [&s](int fd) {
        if (fd < 0) return;
        if (s.reset) {
          net::closeWithReset(fd);
        } else {
          ::close(fd);
        }
      };
      closeFd(s.clientFd);
      closeFd(s.serverFd);
      relay_->releaseHeld(s);
      if (s.serverCounted) s.snapshot->backends[s.backend].live->release(s.server);
      SharedCounters& counters = *s.snapshot->counters;  // the snapshot that counted it
      counters.active.fetch_sub(1, std::memory_order_relaxed);
      counters.frontendActive[s.frontendSlot].fetch_sub(1, std::memory_order_relaxed);
      if (options_.accessLog != nullptr) logSession(s, slot);
      counters_->add(s.frontendSlot, stats::FrontendStat::Closed);
      counters_->add(s.backendSlot, stats::BackendStat::Closed);
      counters_->closed[static_cast<std::size_t>(s.closeReason)].add();
      for (const Direction* d : {&s.c2s, &s.s2c}) {
        if (d->bytes > 0) {
          counters_->add(d->splice ? stats::WorkerStat::SpliceDirections : stats::WorkerStat::CopyDirections);
        }
      }
      sessions_.release(slot);
      break;
    }
  }
  return true;
}

void Worker::close(Session& s, uint32_t slot, bool reset, CloseReason reason) {
  if (s.state != SessionState::Connecting && s.state != SessionState::Relaying) return;
  // Closing a relaying session with a direction that has not ended cleanly must not look like a
  // clean end of stream to that direction's peer: a FIN would pass a cut stream off as complete.
  // Only two Done directions close with FIN (see Relay.h).
  if (s.state == SessionState::Relaying &&
      !(s.c2s.state == DirectionState::Done && s.s2c.state == DirectionState::Done)) {
    reset = true;
  }
  s.reset = s.reset || reset;
  if (s.closeReason == CloseReason::None) s.closeReason = reason;
  transition(s, slot, SessionState::Closing);
  maybeFree(s, slot);
}

void Worker::maybeFree(Session& s, uint32_t slot) {
  if (s.state == SessionState::Closing && s.inflight == 0) transition(s, slot, SessionState::Free);
}

namespace {
// HAProxy's meaning: a side is "half-closed" once one of its directions is shut: it sent us its
// FIN, or we forwarded a FIN to it, or we are draining the last bytes of a reset peer into it.
// Then its *_fin timeout replaces the idle timeout. A side whose socket failed has no timeout of
// its own any more: the relay ends the session once the other side has what it is owed.
struct SideLimits {
  Clock::time_point client;
  Clock::time_point server;
};
SideLimits sideLimits(const Session& s) {
  const config::Timeouts& client = s.snapshot->config->frontends[s.frontend].timeouts;
  const config::Timeouts& server = s.snapshot->config->backends[s.backend].timeouts;
  const bool clientHalf = s.c2s.source != SourceEnd::Open || s.s2c.state == DirectionState::Done ||
                          s.s2c.source == SourceEnd::Reset;
  const bool serverHalf = s.s2c.source != SourceEnd::Open || s.c2s.state == DirectionState::Done ||
                          s.c2s.source == SourceEnd::Reset;
  SideLimits limits{s.clientActive + (clientHalf ? client.clientFin : client.client),
                    s.serverActive + (serverHalf ? server.serverFin : server.server)};
  if (s.clientFailed != s.serverFailed) {
    (s.clientFailed ? limits.client : limits.server) = Clock::time_point::max();
  }
  // While a direction drains into its peer before a reset, only that peer's pace counts: the
  // other side's part is over.
  const bool drainingToClient = s.s2c.state == DirectionState::Flush;
  const bool drainingToServer = s.c2s.state == DirectionState::Flush;
  if (drainingToClient != drainingToServer) {
    (drainingToClient ? limits.server : limits.client) = Clock::time_point::max();
  }
  return limits;
}
}  // namespace

Clock::time_point Worker::deadline(const Session& s) const {
  if (s.state == SessionState::Connecting) {
    // The current attempt's: serverActive is when it started (Connect.cc).
    return s.serverActive + s.snapshot->config->backends[s.backend].timeouts.connect;
  }
  const SideLimits limits = sideLimits(s);
  return std::min(limits.client, limits.server);
}

CloseReason Worker::expiredSide(const Session& s) const {
  const SideLimits limits = sideLimits(s);
  return limits.client <= limits.server ? CloseReason::ClientTimeout : CloseReason::ServerTimeout;
}

void Worker::scheduleExpiry(Session& s, uint32_t slot) {
  sessions_.scheduleExpiry(slot, deadline(s));
}

uint64_t Worker::tag(Op op, uint32_t slot) const {
  const bool sessionOp = op == Op::Connect || op == Op::ClientToServer || op == Op::ServerToClient;
  const uint32_t generation = sessionOp ? sessions_.at(slot).generation : 0;
  return io::UserData{static_cast<uint8_t>(op), generation, slot}.encode();
}

void Worker::noteClient(uint32_t slot, const net::Address& peer) {
  if (logInfo_.size() <= slot) logInfo_.resize(sessions_.slots());  // grows with the table
  LogInfo& info = logInfo_[slot];
  const std::string text = peer.toString();  // fits the small-string buffer for IPv4
  info.clientLength = static_cast<uint8_t>(std::min(text.size(), info.client.size()));
  std::copy_n(text.data(), info.clientLength, info.client.data());
  info.connectMs = UINT32_MAX;
}

void Worker::logSession(const Session& s, uint32_t slot) {
  const config::Config& cfg = *s.snapshot->config;
  const config::Backend& backend = cfg.backends[s.backend];
  const LogInfo& info = logInfo_[slot];
  const Clock::duration age = now_ - s.started;
  log::AccessRecord r;
  r.start = std::chrono::system_clock::now() -
            std::chrono::duration_cast<std::chrono::system_clock::duration>(age);
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(age);
  if (info.connectMs != UINT32_MAX) r.connectTime = std::chrono::milliseconds(info.connectMs);
  r.clientAddress = std::string_view(info.client.data(), info.clientLength);
  r.frontend = cfg.frontends[s.frontend].name;
  r.backend = backend.name;
  if (s.attempt > 0) r.server = backend.servers[s.server].name;  // the last one tried
  r.bytesIn = s.c2s.bytes;
  r.bytesOut = s.s2c.bytes;
  r.reason = toString(s.closeReason);
  r.attempts = s.attempt;
  r.worker = id_;
  logLine_.clear();
  if (cfg.accessLog.format == config::AccessLogFormat::Json) {
    log::formatJson(r, logLine_);
  } else {
    log::formatText(r, logLine_);
  }
  // Full (the writer is behind): the line is dropped and counted by the ring, never waited for.
  options_.accessLog->push(std::string_view(logLine_.data(), logLine_.size()));
}

}  // namespace ringlb::proxy
