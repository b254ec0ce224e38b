#include "ringlb/app/Server.h"

#include <sched.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <thread>

#include "ringlb/app/Upgrade.h"
#include "ringlb/control/MetricsModel.h"
#include "ringlb/health/SlowStart.h"
#include "ringlb/net/Socket.h"

namespace ringlb::app {

Server::Server(std::shared_ptr<const config::Config> config, std::string upgradeFrom)
    : config_(std::move(config)), upgradeFrom_(std::move(upgradeFrom)) {}

Server::~Server() {
  stopWorkers();
  joinWorkers();
  if (signalFd_ >= 0) ::close(signalFd_);
}

unsigned Server::workerCount() const {
  if (config_->global.workers != 0) return config_->global.workers;
  // "auto": the CPUs we may run on (respects taskset and cgroup cpusets), not all CPUs.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string Server::start() {
  // Signals are handled synchronously on this thread through a signalfd; blocking them before
  // the workers start makes every worker inherit the mask. SIGPIPE is ignored outright: sends
  // use MSG_NOSIGNAL, but splice cannot.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGUSR1);  // reopen the access log (logrotate)
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  signalFd_ = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signalFd_ < 0) return std::string("signalfd: ") + std::strerror(errno);

  std::string loopError;
  loop_ = io::EventLoop::create(&loopError);
  if (!loop_) return loopError;

  const unsigned n = workerCount();
  // A binary upgrade: the running process's server states and listening sockets, first.
  std::unique_ptr<UpgradeSource> upgrade;
  if (!upgradeFrom_.empty()) {
    std::string upgradeError;
    bool nobody = false;
    upgrade = UpgradeSource::connect(upgradeFrom_, &upgradeError, &nobody);
    if (!upgrade && !nobody) return "--upgrade-from " + upgradeFrom_ + ": " + upgradeError;
    if (upgrade) {
      spdlog::info("upgrade: {} server states and {} listening sockets from {}", upgrade->states().size(),
                   upgrade->sockets().size(), upgradeFrom_);
    } else {
      // Nothing to take over (the first start of a unit that always passes --upgrade-from). But
      // a wrong path must not start a second process beside one that serves these addresses.
      for (const config::Frontend& f : config_->frontends) {
        for (const net::Address& a : f.listen) {
          if (a.port() != 0 && net::listenerExists(a) == 1) {
            return "--upgrade-from " + upgradeFrom_ + ": " + upgradeError + ", but " + a.toString() +
                   " is already served (another ringlb?); not starting beside it";
          }
        }
      }
      spdlog::warn("upgrade: nothing serves {} ({}); starting without taking over", upgradeFrom_, upgradeError);
      upgradeFrom_.clear();
    }
  }
  // Every server gets its runtime record first; the snapshot points at the records' live state.
  registry_.adopt(*config_);
  if (upgrade) {
    // Servers the previous process knew at the same address continue as they were (a DOWN one
    // stays down, a drained one drained, a runtime weight stays), so the takeover does not send
    // clients to servers it has not checked yet, nor hold them back from good ones.
    for (const HandedState& h : upgrade->states()) {
      control::ServerRecord* record = registry_.find(h.backend, h.server);
      if (record == nullptr || !(record->address == h.address)) continue;
      std::optional<bool> up;
      if (h.health != HandedState::Health::Unchecked) up = h.health == HandedState::Health::Up;
      // The reload rule: what this file changed from the old process's file wins; the rest keeps
      // its runtime value.
      const health::AdminState admin = record->fileState != h.fileAdmin ? record->fileState : h.admin;
      const uint32_t weight = record->fileWeight != h.fileWeight ? record->fileWeight : h.weight;
      registry_.restore(*record, admin, up, weight);
    }
  }
  shared_ = std::make_shared<proxy::SharedCounters>();
  shared_->workers = n;
  proxy::SnapshotSources sources;
  sources.live = registry_.liveSource();
  sources.slots = proxy::SlotSources{[this](std::string_view name) { return frontendSlots_.slotOf(name); },
                                     [this](std::string_view name) { return backendSlots_.slotOf(name); }};
  sources.counters = shared_;
  auto snapshot = proxy::buildSnapshot(config_, sources);
  builder_ = std::make_unique<io::BackgroundThread>(*loop_);
  publisher_ = std::make_unique<control::SnapshotPublisher>(
      *builder_, registry_, snapshot, [this](const proxy::SnapshotPtr& next) { publishToWorkers(next); });
  std::string listenError;
  if (!Listeners::plan(*config_, n, Listeners{}, upgrade ? &upgrade->sockets() : nullptr, &listeners_,
                       &listenError)) {
    return listenError;
  }
  // Inherited sockets stay the old process's until it hands them over: a refused upgrade must
  // leave them as it had them. Their options change below, once they are ours.
  if (!upgrade) listeners_.applySocketOptions(*config_);
  for (const BoundAddress& a : listeners_.addresses()) {
    spdlog::info("frontend '{}' listening on {}", config_->frontends[a.frontend].name, a.bound.toString());
  }
  if (upgrade) {
    for (const InheritedSocket& s : upgrade->sockets()) {
      // Not in this configuration. The old process still holds it; when it exits, connections
      // still queued there are reset: remove an address with a reload, not with an upgrade.
      if (s.fd >= 0) spdlog::warn("upgrade: {} is not in this configuration; not taken over", s.bound.toString());
    }
  }
  // Until the workers own them, the sockets are ours to close on failure.
  auto fail = [this](std::string message) {
    for (const BoundAddress& a : listeners_.addresses()) {
      for (int fd : a.fds) ::close(fd);
    }
    return message;
  };

  if (!config_->accessLog.path.empty()) {
    std::string logError;
    accessLog_ = log::AccessLogWriter::open(config_->accessLog, n, &logError);
    if (!accessLog_) return fail(logError);
  }
  std::vector<std::future<std::string>> ready;
  for (unsigned w = 0; w < n; ++w) {
    proxy::WorkerOptions options;
    if (accessLog_) options.accessLog = &accessLog_->ring(w);
    options.standingReceive = config_->global.standingReceive;
    workers_.push_back(std::make_unique<proxy::Worker>(w, snapshot, listeners_.forWorker(w), options));
    std::promise<std::string> promise;
    ready.push_back(promise.get_future());
    threads_.emplace_back([worker = workers_.back().get(), p = std::move(promise)]() mutable {
      worker->run(std::move(p));
    });
  }
  std::string error;
  for (auto& f : ready) {
    std::string e = f.get();
    if (!e.empty() && error.empty()) error = e;
  }
  // A start that fails after the workers run leaves nothing running.
  auto abandon = [this](std::string message) {
    stopWorkers();
    joinWorkers();
    workers_.clear();  // closes the listeners they own
    return message;
  };
  if (!error.empty()) {
    return abandon(error);
  }
  // Everything open now is overhead every session needs on top of its own two descriptors;
  // a little headroom covers pipes and the odd descriptor opened later (see descriptorBudget).
  const uint64_t reserved = proxy::openDescriptors() + 8;
  shared_->reservedDescriptors.store(reserved, std::memory_order_relaxed);
  const uint64_t affordable = proxy::refreshDescriptorBudget(
      *shared_, config_->global.maxConnections, proxy::WorkerOptions{}.pipePoolIdle);
  if (affordable < config_->global.maxConnections) {
    spdlog::warn("the descriptor limit (ulimit -n) allows about {} sessions, fewer than "
                 "global.max_connections {}; raise LimitNOFILE / ulimit -n",
                 affordable, config_->global.maxConnections);
  }
  control::AdminInfo info;
  info.version = RINGLB_VERSION;
  info.started = std::chrono::steady_clock::now();
  info.workers = n;
  info.connections = [counters = shared_] {
    return counters->active.load(std::memory_order_relaxed);
  };
  checker_ = std::make_unique<control::HealthChecker>(
      *loop_, registry_, *config_,
      [this](control::ServerRecord& record, const health::Transition& t) { onTransition(record, t); });
  adminCommands_ = std::make_unique<control::AdminCommands>(
      registry_, std::move(info),
      [this](control::ServerRecord& record, const health::Transition& t) {
        onTransition(record, t);
        // Maintenance stops a server's checks and leaving it restarts them.
        if (t.actions.has(health::Action::LogAndCount)) {
          checker_->reschedule(record);
        }
      },
      [this](control::ServerRecord& record, std::function<void()> applied) {
        return onWeight(record, std::move(applied));
      },
      [this](control::ServerRecord& record) {
        spdlog::warn("server {}: open connections reset by the admin socket", record.id());
        for (auto& w : workers_) {
          w->post(proxy::CloseServerSessions{record.live.get(), proxy::CloseReason::AdminKill});
        }
      },
      [this](control::AdminCommands::ReloadReport done) {
        spdlog::info("reload asked for on the admin socket");
        reload([done = std::move(done)](const ReloadResult& result) {
          done(result.ok, result.lines, result.warnings);
        });
      },
      control::AdminCommands::UpgradeHandlers{
          [this](std::vector<std::pair<std::string, int>>* sockets) { return listSockets(sockets); },
          [this]() -> std::string {
            if (stopping_) return "already stopping";
            // The sockets the new process took must be the ones the workers have.
            if (!socketsHandedAt_ || *socketsHandedAt_ != reloadGeneration_) {
              return "no _getsocks since the last reload: the sockets handed over are not the "
                     "current ones (start the upgrade again)";
            }
            stopping_ = true;  // no reload, no second handoff from now on
            handingOff_ = true;
            // After the reply went out: the admin socket goes away with the stop.
            loop_->after(std::chrono::milliseconds(0), [this] { handOff(); });
            return {};
          }});
  process_.workers = n;
  process_.version = RINGLB_VERSION;
  process_.liburingVersion = RINGLB_LIBURING_VERSION;
  utsname uts{};
  process_.kernel = ::uname(&uts) == 0 ? uts.release : "unknown";
  process_.startTimeSeconds = std::chrono::duration<double>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  if (upgrade) {
    // Serving on the shared sockets already: now the old process stops accepting and drains,
    // and releases the admin socket and metrics endpoint for ours.
    bool refused = false;
    if (const std::string e = upgrade->handOff(std::chrono::seconds(10), &refused); !e.empty()) {
      // Refused: the old process serves on as before, so this one leaves. Otherwise the old one
      // may already have stopped accepting: leaving now would leave nobody, so serve on.
      if (refused) return abandon("upgrade: " + e);
      spdlog::error("upgrade: {}; serving anyway (the previous process may still accept too)", e);
    } else {
      spdlog::info("upgrade: the previous process stopped accepting and drains its connections");
    }
    upgrade.reset();  // closes the handed sockets not taken
    listeners_.applySocketOptions(*config_);
  }
  if (const std::string e = openEndpoints(!upgradeFrom_.empty()); !e.empty()) {
    if (upgradeFrom_.empty()) return abandon(e);
    // Taking over: the listeners serve already and the old process is leaving. Without an admin
    // socket or metrics for a moment is better than no service: retry every second.
    spdlog::error("{}; serving without it, retrying every second", e);
    retryEndpoints();
  }
  if (!loop_->add(signalFd_, EPOLLIN, [this](uint32_t) { onSignal(); })) {
    return abandon(std::string("epoll (signalfd): ") + std::strerror(errno));
  }
  spdlog::info("ringlb ready: {} workers, {} frontends, {} backends", n, config_->frontends.size(),
               config_->backends.size());
  return {};
}

void Server::retryEndpoints() {
  loop_->after(std::chrono::seconds(1), [this] {
    if (stopping_) return;
    if (const std::string e = openEndpoints(false); !e.empty()) {
      retryEndpoints();
    } else {
      spdlog::info("admin socket and metrics endpoint open");
    }
  });
}

std::string Server::openEndpoints(bool takingOver) {
  // Taking over: the old process has released both (it closed our connection after that), but
  // allow for a socket that lingers a moment.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(takingOver ? 5 : 0);
  if (!config_->admin.socket.empty() && !adminServer_) {
    for (;;) {
      std::string adminError;
      adminServer_ = control::AdminServer::open(*loop_, config_->admin, *adminCommands_, &adminError);
      if (adminServer_) break;
      if (std::chrono::steady_clock::now() >= deadline) return adminError;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (config_->metrics.listen && !metricsServer_) {
    for (;;) {
      std::string metricsError;
      metricsServer_ = control::MetricsServer::open(
          *loop_, *config_->metrics.listen,
          config_->metrics.compat == config::MetricsCompat::HAProxy ? stats::Compat::HAProxy : stats::Compat::None,
          [this] { return collectMetrics(); }, &metricsError);
      if (metricsServer_) break;
      if (std::chrono::steady_clock::now() >= deadline) return metricsError;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    net::Address bound = *config_->metrics.listen;
    bound.setPort(metricsServer_->port());
    spdlog::info("metrics on http://{}/metrics", bound.toString());
  }
  return {};
}

std::string Server::listSockets(std::vector<std::pair<std::string, int>>* sockets) {
  if (stopping_) return "stopping";
  // Mid-reload the workers may be between two listener sets: ask again when it is done.
  if (reloading_ || pendingConfig_) return "a reload is in progress; try again";
  socketsHandedAt_ = reloadGeneration_;
  for (const BoundAddress& a : listeners_.addresses()) {
    for (std::size_t i = 0; i < a.fds.size(); ++i) {
      sockets->emplace_back(a.configured.toString() + " " + a.bound.toString() + " " + std::to_string(a.workers[i]),
                            a.fds[i]);
    }
  }
  return {};
}

void Server::handOff() {
  spdlog::info("upgrade: a new process took over the listening sockets; no longer accepting, "
               "open connections get up to {} ms to finish",
               config_->global.shutdownGrace.count());
  for (auto& w : workers_) w->requestHandoff();
  // The metrics port first (civetweb takes about a second to stop its threads), then the admin
  // socket: closing it closes the new process's connection, its signal that both are free.
  metricsServer_.reset();
  adminServer_.reset();
}

stats::Model Server::collectMetrics() const {
  control::MetricsInputs in;
  const proxy::SnapshotPtr snapshot = publisher_->current();
  in.snapshot = snapshot.get();
  in.registry = &registry_;
  for (const auto& w : workers_) in.workers.push_back(&w->counters());
  in.process = process_;
  if (accessLog_) in.process.accessLogDropped = accessLog_->dropped();
  return control::buildModel(in);
}

void Server::onTransition(control::ServerRecord& record, const health::Transition& t) {
  if (t.actions.has(health::Action::CloseSessions)) {
    for (auto& w : workers_) w->post(proxy::CloseServerSessions{record.live.get()});
  }
  // Slow start: a server that just became eligible takes its weight in steps.
  if (t.actions.has(health::Action::RecomputeEligibility) && health::eligible(record.state) &&
      record.slowStart.count() > 0 && record.weight > 0) {
    record.rampFrom = std::chrono::steady_clock::now();
    spdlog::info("server {} slow start: full weight {} in {} ms", record.id(), record.weight,
                 record.slowStart.count());
    republish({record.backend});
    if (rampTimer_ == 0) {
      rampTimer_ = loop_->after(health::rampStep(record.slowStart), [this] { rampTick(); });
    }
  } else if (t.actions.has(health::Action::RecomputeEligibility) && record.rampFrom) {
    record.rampFrom.reset();  // down again mid-ramp: the next return starts a new ramp
    republish({record.backend});
  }
}

void Server::rampTick() {
  rampTimer_ = 0;
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::string> backends;
  std::chrono::milliseconds step{0};
  for (control::ServerRecord* record : registry_.ordered()) {
    if (!record->rampFrom) continue;
    if (std::find(backends.begin(), backends.end(), record->backend) == backends.end()) {
      backends.push_back(record->backend);
    }
    if (now - *record->rampFrom >= record->slowStart) {
      record->rampFrom.reset();  // this rebuild gives it its full weight
      spdlog::info("server {} slow start done: weight {}", record->id(), record->weight);
    } else {
      const auto s = health::rampStep(record->slowStart);
      step = step.count() == 0 ? s : std::min(step, s);
    }
  }
  republish(backends);
  if (step.count() > 0) rampTimer_ = loop_->after(step, [this] { rampTick(); });
}

void Server::republish(const std::vector<std::string>& backends) {
  for (const std::string& name : backends) publisher_->rebuild(name);
}

std::string Server::onWeight(control::ServerRecord& record, std::function<void()> applied) {
  // Only this backend's balancers are rebuilt, off the loop and off the workers; the workers
  // switch at their next turn after it is done, and open connections keep the snapshot they
  // started with.
  if (!publisher_->rebuild(record.backend, std::move(applied))) {
    return "backend '" + record.backend + "' is not in the running configuration";
  }
  spdlog::warn("server {} weight set to {} by the admin socket", record.id(), record.weight);
  return {};
}

void Server::publishToWorkers(const proxy::SnapshotPtr& next) {
  auto published = std::make_shared<Published>();
  lastPublished_ = published;
  // The last worker to take it posts the news to this loop (which outlives the workers).
  io::EventLoop* loop = loop_.get();
  auto taken = std::make_shared<proxy::SnapshotTaken>(
      static_cast<unsigned>(workers_.size()), [loop, published] {
        loop->post([published] {
          published->taken = true;
          std::vector<std::function<void()>> waiting = std::move(published->waiting);
          for (const std::function<void()>& f : waiting) f();
        });
      });
  if (pendingConfig_ && next->config == pendingConfig_) {
    // The reload's first snapshot: new frontend indexes, so the listener sets go with it.
    listeners_ = std::move(pendingListeners_);
    pendingListeners_ = Listeners{};
    pendingConfig_.reset();
    for (unsigned w = 0; w < workers_.size(); ++w) {
      workers_[w]->post(proxy::UseSnapshot{next, listeners_.forWorker(w), taken});
    }
    return;
  }
  for (auto& w : workers_) w->post(proxy::UseSnapshot{next, std::nullopt, taken});
}

void Server::afterWorkersTake(std::function<void()> f) {
  if (!lastPublished_ || lastPublished_->taken) {
    f();
    return;
  }
  lastPublished_->waiting.push_back(std::move(f));
}

void Server::onSignal() {
  signalfd_siginfo info{};
  const ssize_t got = ::read(signalFd_, &info, sizeof info);
  if (got != sizeof info) return;  // EAGAIN/EINTR: level-triggered, we will be called again
  if (info.ssi_signo == SIGUSR1) {
    if (!accessLog_) {
      spdlog::info("SIGUSR1: no access log to reopen");
    } else if (const std::string error = accessLog_->reopen(); !error.empty()) {
      spdlog::error("SIGUSR1: {}; still writing to the old file", error);
    } else {
      spdlog::info("SIGUSR1: access log reopened");
    }
    return;
  }
  if (info.ssi_signo == SIGHUP) {
    if (stopping_) {
      spdlog::warn("SIGHUP while stopping: not reloading");
      return;
    }
    spdlog::info("SIGHUP: reloading {}", config_->source);
    reload();
    return;
  }
  if (stopping_ && handingOff_ && !stopSignalled_) {
    // Draining after a hand-off: a first stop signal (systemctl stop of the old unit) changes
    // nothing; a second ends the grace.
    stopSignalled_ = true;
    spdlog::info("{}: already draining after a hand-off (send it again to stop at once)",
                 strsignal(static_cast<int>(info.ssi_signo)));
    return;
  }
  if (stopping_) {
    spdlog::warn("{} again: stopping now; open connections are reset",
                 strsignal(static_cast<int>(info.ssi_signo)));
    for (auto& w : workers_) w->requestStop(true);
    return;
  }
  spdlog::info("{}: stopping; open connections get up to {} ms to finish (send it again to "
               "stop at once)",
               strsignal(static_cast<int>(info.ssi_signo)), config_->global.shutdownGrace.count());
  stopping_ = true;
  // The admin socket closes with the stop: a drained process takes no more commands.
  adminServer_.reset();
  stopWorkers();
}

int Server::run() {
  // The loop turns at least every 50 ms while stopping, to notice the workers finishing; a
  // second SIGTERM/SIGINT meanwhile ends the grace at once, as operators expect.
  for (;;) {
    loop_->runOnce(stopping_ ? std::chrono::milliseconds(50) : std::chrono::milliseconds(1000));
    if (stopping_ && std::all_of(workers_.begin(), workers_.end(),
                                 [](const auto& w) { return w->finished(); })) {
      break;
    }
    // A worker that ended on its own (it cannot, short of a bug) must not leave the process
    // up and deaf: stop the rest.
    if (!stopping_ && std::any_of(workers_.begin(), workers_.end(),
                                  [](const auto& w) { return w->finished(); })) {
      spdlog::error("a worker stopped unexpectedly; stopping");
      stopping_ = true;
      adminServer_.reset();
      stopWorkers();
    }
  }
  stopWorkers();
  joinWorkers();
  // The same counters the metrics read, summed once more for the log.
  const stats::Model model = collectMetrics();
  uint64_t accepted = 0, closed = 0, in = 0, out = 0, connectErrors = 0, timeouts = 0;
  for (const stats::FrontendValues& f : model.frontends) {
    accepted += f.accepted;
    closed += f.sessions - f.current;
    in += f.bytesIn;
    out += f.bytesOut;
  }
  for (const stats::BackendValues& b : model.backends) connectErrors += b.connectErrors;
  for (const auto& [reason, n] : model.closedByReason) {
    if (reason == "client_timeout" || reason == "server_timeout") timeouts += n;
  }
  spdlog::info("stopped: {} connections accepted, {} sessions closed, {} connect failures, {} "
               "timeouts, {} bytes client->server, {} bytes server->client",
               accepted, closed, connectErrors, timeouts, in, out);
  return 0;
}

void Server::stopWorkers() {
  for (auto& w : workers_) w->requestStop();
}

void Server::joinWorkers() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace ringlb::app
