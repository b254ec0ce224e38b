#include "ringlb/control/HealthChecker.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ringlb/net/Socket.h"

namespace ringlb::control {

using std::chrono::milliseconds;

namespace {

health::StatusRange rangeOf(const config::StatusRange& r) { return {r.low, r.high}; }

}  // namespace

HealthChecker::HealthChecker(io::EventLoop& loop, ServerRegistry& registry,
                             const config::Config& config, TransitionHandler onTransition)
    : loop_(loop), registry_(registry), onTransition_(std::move(onTransition)),
      random_(std::random_device{}()) {
  reconfigure(config);
}

std::vector<std::unique_ptr<HealthChecker::Target>> HealthChecker::targetsOf(const config::Config& config) {
  std::vector<std::unique_ptr<Target>> out;
  for (const config::Backend& backend : config.backends) {
    const config::HealthCheck& hc = backend.healthCheck;
    if (hc.type == config::CheckType::None) continue;
    for (const config::Server& server : backend.servers) {
      ServerRecord* record = registry_.find(backend.name, server.name);
      if (record == nullptr) continue;  // adopt() ran first: cannot happen
      auto t = std::make_unique<Target>();
      t->record = record;
      t->type = hc.type;
      t->address = server.address;
      if (hc.port != 0) t->address.setPort(hc.port);
      t->timeout = hc.timeout;
      t->intervals.interval = hc.interval;
      t->intervals.fastInterval = hc.fastInterval;
      t->intervals.downInterval = hc.downInterval;
      if (hc.type == config::CheckType::Http) {
        t->request = health::buildRequest(hc.http.method, hc.http.path, hc.http.host,
                                          server.address.toString());
        for (const config::StatusRange& r : hc.http.expectStatus) t->expect.push_back(rangeOf(r));
        if (t->expect.empty()) t->expect.push_back(health::kDefaultStatusRange);
      }
      t->passiveThreshold = backend.passive.consecutiveFailures;
      out.push_back(std::move(t));
    }
  }
  return out;
}

bool HealthChecker::sameCheck(const Target& a, const Target& b) {
  return a.record == b.record && a.type == b.type && a.address == b.address && a.timeout == b.timeout &&
         a.intervals.interval == b.intervals.interval &&
         a.intervals.fastInterval == b.intervals.fastInterval &&
         a.intervals.downInterval == b.intervals.downInterval && a.request == b.request &&
         a.expect.size() == b.expect.size() &&
         std::equal(a.expect.begin(), a.expect.end(), b.expect.begin(),
                    [](const health::StatusRange& x, const health::StatusRange& y) {
                      return x.low == y.low && x.high == y.high;
                    }) &&
         a.passiveThreshold == b.passiveThreshold;
}

void HealthChecker::reconfigure(const config::Config& config) {
  std::vector<std::unique_ptr<Target>> next = targetsOf(config);
  // A check whose settings did not change keeps running on its schedule: a reload must not
  // restart every check at a random point of its interval (a reload every second would then
  // starve the checks of servers with longer intervals).
  for (auto& fresh : next) {
    const auto same = std::find_if(targets_.begin(), targets_.end(), [&](const auto& old) {
      return old && sameCheck(*old, *fresh);
    });
    if (same != targets_.end()) {
      fresh = std::move(*same);
      // The reload may have changed its state (out of maintenance, by the file): a check that
      // was not planned because the old state needed none is planned now.
      if (fresh->fd < 0 && fresh->timer == 0) {
        if (const auto interval = health::nextInterval(fresh->record->state, fresh->intervals)) {
          plan(*fresh, health::jitter(*interval, unit()));
        }
      }
      continue;
    }
    Target& ref = *fresh;
    plan(ref, health::firstCheckDelay(ref.intervals.interval, unit()));
  }
  for (auto& old : targets_) {
    if (!old) continue;  // kept
    abort(*old);
    if (old->timer != 0) loop_.cancel(old->timer);
  }
  targets_ = std::move(next);
  const bool passive = std::any_of(targets_.begin(), targets_.end(),
                                   [](const auto& t) { return t->passiveThreshold > 0; });
  if (passive && sweep_ == 0) sweep_ = loop_.after(kPassiveSweep, [this] { sweepPassive(); });
}

void HealthChecker::sweepPassive() {
  for (auto& t : targets_) {
    if (t->passiveThreshold == 0) continue;
    ServerRecord& record = *t->record;
    const uint32_t streak = record.live->failureStreak.load(std::memory_order_relaxed);
    if (streak < t->passiveThreshold) continue;
    record.live->failureStreak.store(0, std::memory_order_relaxed);
    if (record.state.health == health::Health::Down) continue;
    // Mark down now: `fall` failures' worth, so the workers stop sending clients to a server
    // they cannot reach before its next active check says so. Checks then bring it back.
    const std::string cause = std::to_string(streak) + " connects failed in a row (passive check)";
    for (uint16_t i = 0; i < record.params.fall && record.state.health == health::Health::Up; ++i) {
      const health::Transition transition = registry_.apply(record, health::Event::passiveFailure(), cause);
      if (onTransition_) onTransition_(record, transition);
    }
    reschedule(record);
  }
  sweep_ = loop_.after(kPassiveSweep, [this] { sweepPassive(); });
}

HealthChecker::~HealthChecker() {
  if (sweep_ != 0) loop_.cancel(sweep_);
  for (auto& t : targets_) {
    abort(*t);
    if (t->timer != 0) loop_.cancel(t->timer);
  }
}

double HealthChecker::unit() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

void HealthChecker::reschedule(ServerRecord& record) {
  for (auto& t : targets_) {
    if (t->record != &record) continue;
    if (t->fd >= 0) return;  // the running check plans the next when it ends
    if (t->timer != 0) loop_.cancel(t->timer);
    t->timer = 0;
    if (const auto next = health::nextInterval(record.state, t->intervals)) {
      plan(*t, health::jitter(*next, unit()));
    }
  }
}

void HealthChecker::plan(Target& t, milliseconds delay) {
  Target* target = &t;
  t.timer = loop_.after(delay, [this, target] {
    target->timer = 0;
    begin(*target);
  });
}

void HealthChecker::begin(Target& t) {
  t.started = io::EventLoop::Clock::now();
  t.connected = false;
  t.sent = 0;
  t.parser.reset();
  t.fd = net::createStreamSocket(t.address.family());
  if (t.fd < 0) {
    t.fd = -1;
    finish(t, health::FailureReason::Error, std::string("socket: ") + std::strerror(errno));
    return;
  }
  const int rc = ::connect(t.fd, t.address.sockaddr_ptr(), t.address.length());
  if (rc != 0 && errno != EINPROGRESS) {
    const int err = errno;
    finish(t, err == ECONNREFUSED ? health::FailureReason::Refused : health::FailureReason::Error,
           std::string("connect: ") + std::strerror(err));
    return;
  }
  Target* target = &t;
  if (!loop_.add(t.fd, EPOLLOUT, [this, target](uint32_t events) { onEvent(*target, events); })) {
    finish(t, health::FailureReason::Error, std::string("epoll: ") + std::strerror(errno));
    return;
  }
  t.timer = loop_.after(t.timeout, [this, target] {
    target->timer = 0;
    finish(*target, health::FailureReason::Timeout,
           target->connected ? "no complete answer in time" : "no connection in time");
  });
}

void HealthChecker::onEvent(Target& t, uint32_t events) {
  if (!t.connected) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(t.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
      if (err == 0) err = ECONNRESET;
      finish(t, err == ECONNREFUSED ? health::FailureReason::Refused : health::FailureReason::Error,
             std::string("connect: ") + std::strerror(err));
      return;
    }
    t.connected = true;
    if (t.type == config::CheckType::Tcp) {
      finish(t, std::nullopt, "connected");
      return;
    }
  }
  // http: send the request, then read the status line.
  if (t.sent < t.request.size()) {
    const ssize_t n = ::send(t.fd, t.request.data() + t.sent, t.request.size() - t.sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      finish(t, health::FailureReason::Error, std::string("send: ") + std::strerror(errno));
      return;
    }
    if (n > 0) t.sent += static_cast<std::size_t>(n);
    if (t.sent == t.request.size()) loop_.modify(t.fd, EPOLLIN);
    return;
  }
  char buf[1024];
  const ssize_t n = ::recv(t.fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    finish(t, health::FailureReason::Error, std::string("recv: ") + std::strerror(errno));
    return;
  }
  const health::StatusResult result =
      n == 0 ? t.parser.finish() : t.parser.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  if (result.kind == health::StatusResult::Kind::NeedMore) return;
  const auto failure = health::verdictOf(result, t.expect);
  finish(t, failure,
         result.kind == health::StatusResult::Kind::Status ? "status " + std::to_string(result.code)
                                                           : std::string(result.reason));
}

void HealthChecker::abort(Target& t) {
  if (t.fd >= 0) {
    loop_.remove(t.fd);
    ::close(t.fd);
    t.fd = -1;
  }
}

void HealthChecker::finish(Target& t, std::optional<health::FailureReason> failure,
                           std::string detail) {
  abort(t);
  if (t.timer != 0) {
    loop_.cancel(t.timer);
    t.timer = 0;
  }
  ServerRecord& record = *t.record;
  CheckReport report;
  report.ok = !failure;
  report.reason = failure.value_or(health::FailureReason::Error);
  report.detail = std::move(detail);
  report.latency = std::chrono::duration_cast<milliseconds>(io::EventLoop::Clock::now() - t.started);
  const std::string cause = failure ? "check failed: " + std::string(health::toString(*failure)) +
                                          " (" + report.detail + ")"
                                    : "check passed (" + report.detail + ")";
  record.lastCheck = std::move(report);
  if (failure) ++record.checkFailures;
  const health::Transition transition = registry_.apply(
      record, failure ? health::Event::checkFailed(*failure) : health::Event::checkSucceeded(), cause);
  if (onTransition_) onTransition_(record, transition);
  if (const auto next = health::nextInterval(record.state, t.intervals)) {
    plan(t, health::jitter(*next, unit()));
  }
}

}  // namespace ringlb::control
