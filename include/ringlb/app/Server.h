#pragma once
// The control side of a running ringlb: binds listeners, starts one worker per core, and runs
// the control event loop (io::EventLoop) on the main thread: signals, the admin socket, and the
// server registry whose state the workers read. Workers run on their own threads and hear from
// the control thread only through their mailboxes and the LiveServer atomics.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ringlb/app/Listeners.h"
#include "ringlb/config/Config.h"
#include "ringlb/config/Loader.h"
#include "ringlb/control/AdminCommands.h"
#include "ringlb/control/AdminServer.h"
#include "ringlb/control/HealthChecker.h"
#include "ringlb/control/MetricsServer.h"
#include "ringlb/control/ServerRegistry.h"
#include "ringlb/control/SnapshotPublisher.h"
#include "ringlb/io/BackgroundThread.h"
#include "ringlb/io/EventLoop.h"
#include "ringlb/log/AccessLogWriter.h"
#include "ringlb/proxy/Worker.h"
#include "ringlb/stats/Counters.h"

namespace ringlb::app {

class Server {
 public:
  // With `upgradeFrom` (an admin socket path), start() takes over the listening sockets of the
  // ringlb serving it (app/Upgrade.h).
  explicit Server(std::shared_ptr<const config::Config> config, std::string upgradeFrom = {});
  ~Server();

  // Binds every listener and starts the workers. Returns an error message (empty on success);
  // on failure nothing is left running.
  std::string start();
  // Runs the control loop until a graceful stop completed. Returns the process exit status.
  int run();

  // What a reload did: ok with the changes applied (one line each), or the errors that kept the
  // running configuration; and, when ok, the new configuration's warnings ("FILE: message", one
  // each: config::LoadResult::warnings), logged already as they were found.
  struct ReloadResult {
    bool ok = false;
    std::vector<std::string> lines;
    std::vector<std::string> warnings;
  };
  using ReloadDone = std::function<void(const ReloadResult&)>;
  // Rereads the configuration file and applies it as a diff (docs/operations.md, "Reloading"):
  // parsed and validated off the loop; if anything is invalid nothing changes. `done` (if any)
  // gets the result once the workers have the new snapshot, or at once for an error. Reloads
  // run one at a time: one asked for while another runs starts when it ends (requests made
  // meanwhile share it). Control thread.
  void reload(ReloadDone done = {});

 private:
  unsigned workerCount() const;
  void stopWorkers();
  void joinWorkers();
  void onSignal();
  // Carries out a server state transition's actions that reach beyond the registry.
  void onTransition(control::ServerRecord& record, const health::Transition& transition);
  // Has the balancers of the backends named in `backends` rebuilt off the loop (weights: the
  // registry's effective weights); the workers get the new snapshot when it is done.
  void republish(const std::vector<std::string>& backends);
  // Slow start: re-applies every ramping server's weight, every health::rampStep.
  void rampTick();
  // One scrape's values (control thread).
  stats::Model collectMetrics() const;
  // Publishes a record's new weight: has its backend's balancers rebuilt and handed to the
  // workers, then calls `applied`.
  std::string onWeight(control::ServerRecord& record, std::function<void()> applied);
  // Hands a published snapshot to the workers, with their listener sets when it is the one a
  // reload's listeners were planned for.
  void publishToWorkers(const proxy::SnapshotPtr& next);
  // Runs `f` on the control loop once every worker uses the snapshot published last (at once if
  // they all do already): what "reload ... done" waits for.
  void afterWorkersTake(std::function<void()> f);

  // --- binary upgrade, the running side (Upgrade handlers in Server.cc) ---
  // Every listening socket, for `_getsocks`.
  std::string listSockets(std::vector<std::pair<std::string, int>>* sockets);
  // `_handoff`: releases the metrics endpoint and the admin socket (which closes the new
  // process's connection: its signal to take them over) and stops the workers in handoff mode.
  void handOff();
  // Opens the admin socket and the metrics endpoint; when taking over, waits (bounded) for the
  // old process to have released them.
  // Idempotent: opens only what is not open yet.
  std::string openEndpoints(bool takingOver);
  // Retries openEndpoints every second until it succeeds (after a takeover).
  void retryEndpoints();

  // --- reload (Reload.cc) ---
  void beginReload();
  // The new file is parsed: validates what only the running process can (slot capacity,
  // listeners), applies the runtime parts and hands the snapshot build to the publisher.
  void applyReload(config::LoadResult loaded, std::vector<ReloadDone> waiters);
  // Counts, logs and reports a reload's end; starts the next one if asked for meanwhile.
  void finishReload(ReloadResult result, const std::vector<ReloadDone>& waiters);
  // What a reload's snapshot build reads from the control plane, as copies (it runs on the
  // builder thread).
  proxy::SnapshotSources reloadSources(const config::Config& next);

  // The running configuration: the last one loaded successfully (the workers may still be
  // getting its snapshot).
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<io::EventLoop> loop_;
  // The process's shared connection counters (limits), the same for every snapshot.
  std::shared_ptr<proxy::SharedCounters> shared_;
  // The listening sockets the workers have, and those a reload planned for pendingConfig_
  // (handed over with the first snapshot of that configuration).
  Listeners listeners_;
  Listeners pendingListeners_;
  std::shared_ptr<const config::Config> pendingConfig_;
  // The snapshot published last, as far as the workers' taking it goes (control thread only).
  struct Published {
    bool taken = false;
    std::vector<std::function<void()>> waiting;  // afterWorkersTake's, until taken
  };
  std::shared_ptr<Published> lastPublished_;
  bool reloading_ = false;
  std::vector<ReloadDone> reloadWaiters_;  // asked for while a reload ran
  bool reloadAsked_ = false;               // a reload (perhaps with no waiter: SIGHUP) waits
  std::string upgradeFrom_;                // --upgrade-from
  // Reloads applied so far, and the value at the last `_getsocks`: `_handoff` requires them equal
  // (the sockets handed over are the workers' current ones).
  uint64_t reloadGeneration_ = 0;
  std::optional<uint64_t> socketsHandedAt_;
  bool handingOff_ = false;     // stopping after `_handoff`
  bool stopSignalled_ = false;  // a stop signal came while handing off
  control::ServerRegistry registry_;
  // Counter slots of frontends and backends by name, for the process's life (stats/Counters.h).
  stats::SlotNames frontendSlots_;
  stats::SlotNames backendSlots_;
  // Declared after the loop (it watches an eventfd on it) and before the publisher whose
  // continuations it carries.
  std::unique_ptr<io::BackgroundThread> builder_;
  std::unique_ptr<control::SnapshotPublisher> publisher_;
  std::unique_ptr<control::HealthChecker> checker_;
  std::unique_ptr<control::AdminCommands> adminCommands_;
  std::unique_ptr<control::AdminServer> adminServer_;
  std::unique_ptr<control::MetricsServer> metricsServer_;
  stats::ProcessValues process_;  // the scrape's constant part
  bool stopping_ = false;
  io::EventLoop::TimerId rampTimer_ = 0;
  // Before the workers: they push into its rings until they are joined.
  std::unique_ptr<log::AccessLogWriter> accessLog_;
  std::vector<std::unique_ptr<proxy::Worker>> workers_;
  std::vector<std::thread> threads_;
  int signalFd_ = -1;
};

}  // namespace ringlb::app
