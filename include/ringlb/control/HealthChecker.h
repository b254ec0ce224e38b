#pragma once
// Active health checks, run on the control thread's event loop: for every server of a backend
// with `health_check: {type: tcp|http}`, a non-blocking connect (and for http, a request and
// the response's status line) bounded by the check timeout, at the interval HAProxy's rules
// give for the server's state (inter / fastinter / downinter), with jitter. Each verdict is an
// event for the server's state machine in the registry; a transition's actions go to
// `onTransition`. Passive checking (passive.consecutive_failures) applies to checked backends: a
// run of that many failed connects by the workers marks the server down at once. Nothing blocks: a blackholed target costs one descriptor and one timer until
// its timeout, and never delays another server's check.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ringlb/config/Config.h"
#include "ringlb/control/ServerRegistry.h"
#include "ringlb/health/HttpCheck.h"
#include "ringlb/health/Interval.h"
#include "ringlb/io/EventLoop.h"

namespace ringlb::control {

class HealthChecker {
 public:
  using TransitionHandler = std::function<void(ServerRecord&, const health::Transition&)>;

  // Checks every server of `config`'s checked backends (records from `registry`, adopted
  // already). The first check of each server comes at a random point of its first interval.
  HealthChecker(io::EventLoop& loop, ServerRegistry& registry, const config::Config& config,
                TransitionHandler onTransition);
  ~HealthChecker();  // cancels every check in flight (closes its socket)
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // An admin change (maintenance stops checks; leaving it restarts them): re-plan that server.
  void reschedule(ServerRecord& record);
  // A reload: checks `config`'s servers from now on (records adopted already). A server whose
  // check settings are unchanged keeps its running check and schedule; a new or changed one is
  // first checked at a random point of its first interval; a removed one's check stops.
  void reconfigure(const config::Config& config);

 private:
  struct Target {
    ServerRecord* record = nullptr;
    config::CheckType type = config::CheckType::Tcp;
    net::Address address;  // where the check connects (the traffic port unless `port` is set)
    std::chrono::milliseconds timeout{1000};
    health::IntervalParams intervals;
    std::string request;   // http: the bytes to send
    std::vector<health::StatusRange> expect;
    uint32_t passiveThreshold = 0;  // passive.consecutive_failures (0: passive checking off)
    // The check in flight, if any.
    int fd = -1;
    bool connected = false;
    std::size_t sent = 0;
    health::StatusLineParser parser;
    io::EventLoop::Clock::time_point started;
    io::EventLoop::TimerId timer = 0;  // next check, or the running check's timeout
  };

  // One target per checked server of `config`, not yet planned.
  std::vector<std::unique_ptr<Target>> targetsOf(const config::Config& config);
  // Same server, same check settings (a reload keeps such a target as it is).
  static bool sameCheck(const Target& a, const Target& b);
  void plan(Target& t, std::chrono::milliseconds delay);
  void begin(Target& t);
  void onEvent(Target& t, uint32_t events);
  // Ends the running check with `failure` (nullopt: success) and plans the next.
  void finish(Target& t, std::optional<health::FailureReason> failure, std::string detail);
  void abort(Target& t);  // closes a running check's socket, no verdict
  // Passive checking: reads the workers' connect-failure runs and marks down a server whose run
  // reached its threshold (HAProxy's observe layer4 with on-error mark-down). Every 100 ms.
  void sweepPassive();
  static constexpr std::chrono::milliseconds kPassiveSweep{100};
  double unit();          // uniform in [0, 1)

  io::EventLoop& loop_;
  ServerRegistry& registry_;
  TransitionHandler onTransition_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::mt19937_64 random_;
  io::EventLoop::TimerId sweep_ = 0;
};

}  // namespace ringlb::control
