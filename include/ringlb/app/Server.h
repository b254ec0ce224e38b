#pragma once
// The control side of a running ringlb: binds listeners, starts one worker per core, and runs
// the control event loop (io::EventLoop) on the main thread: signals, the admin socket, and the
// server registry whose state the workers read. Workers run on their own threads and hear from
// the control thread only through their mailboxes and the LiveServer atomics.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringlb/config/Config.h"
#include "ringlb/control/AdminCommands.h"
#include "ringlb/control/AdminServer.h"
#include "ringlb/control/HealthChecker.h"
#include "ringlb/control/ServerRegistry.h"
#include "ringlb/io/EventLoop.h"
#include "ringlb/proxy/Worker.h"

namespace ringlb::app {

class Server {
 public:
  explicit Server(std::shared_ptr<const config::Config> config);
  ~Server();

  // Binds every listener and starts the workers. Returns an error message (empty on success);
  // on failure nothing is left running.
  std::string start();
  // Runs the control loop until a graceful stop completed. Returns the process exit status.
  int run();

 private:
  unsigned workerCount() const;
  void stopWorkers();
  void joinWorkers();
  void onSignal();
  // Carries out a server state transition's actions that reach beyond the registry.
  void onTransition(control::ServerRecord& record, const health::Transition& transition);
  // Rebuilds the balancers of the backends named in `backends` and hands the workers the new
  // snapshot (weights: the registry's effective weights).
  void republish(const std::vector<std::string>& backends);
  // Slow start: re-applies every ramping server's weight, every health::rampStep.
  void rampTick();
  // Publishes a record's new weight: rebuilds its backend's balancers, hands them to the workers.
  std::string onWeight(control::ServerRecord& record);

  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<io::EventLoop> loop_;
  control::ServerRegistry registry_;
  proxy::SnapshotPtr snapshot_;
  std::unique_ptr<control::HealthChecker> checker_;
  std::unique_ptr<control::AdminCommands> adminCommands_;
  std::unique_ptr<control::AdminServer> adminServer_;
  bool stopping_ = false;
  io::EventLoop::TimerId rampTimer_ = 0;
  std::vector<std::unique_ptr<proxy::Worker>> workers_;
  std::vector<std::thread> threads_;
  int signalFd_ = -1;
};

}  // namespace ringlb::app
