#pragma once
// How the control thread tells a worker to do something: commands posted into the worker's
// mailbox, applied by the worker at a safe point of its loop (between two batches of
// completions, never in the middle of handling one). The only lock is the mailbox's own, taken
// by the worker only when the `pending` flag says something was posted: the data path never
// waits on the control thread.
//
// Commands name servers by their LiveServer record (the server's identity for the process's
// life), never by a position in a snapshot: a worker's sessions may belong to several snapshots.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "ringlb/lb/Balancer.h"
#include "ringlb/proxy/Session.h"
#include "ringlb/proxy/Snapshot.h"

namespace ringlb::proxy {

// Close (reset) every session connected or connecting to `server`: the server was marked down
// with on_marked_down: shutdown (ServerShutdown), or an operator asked (AdminKill).
struct CloseServerSessions {
  const lb::LiveServer* server = nullptr;
  CloseReason reason = CloseReason::ServerShutdown;
};

// A listening socket of a worker and the frontend it serves (an index into the snapshot it
// comes with). The worker owns the descriptor from the moment it is handed one.
struct ListenerSocket {
  int fd = -1;
  uint16_t frontend = 0;
};

// New connections use `snapshot` from now on; open ones keep the one they started with.
// Without `listeners` the snapshot has the running configuration (a runtime weight change
// rebuilt a backend's balancers) and the listeners stay as they are. With them (a reload: a new
// configuration, so new frontend indexes) they are the worker's complete listener set: a
// descriptor it has takes its new frontend index, a new one starts accepting, and one it has
// that is not in the list retires (see Worker).
//
// `taken`, when set, is shared by the commands that carry one snapshot to every worker: each
// worker counts itself off once the snapshot is in use (or refused), and the last one runs
// `done`, on its own thread: `done` may only hand work to another thread (the control loop's
// post()). So the control thread learns when new connections on every worker get the snapshot.
struct SnapshotTaken {
  explicit SnapshotTaken(unsigned workers, std::function<void()> whenAll)
      : remaining(workers), done(std::move(whenAll)) {}
  std::atomic<unsigned> remaining;
  std::function<void()> done;
};

struct UseSnapshot {
  std::shared_ptr<const Snapshot> snapshot;
  std::optional<std::vector<ListenerSocket>> listeners;
  std::shared_ptr<SnapshotTaken> taken;
};

using WorkerCommand = std::variant<CloseServerSessions, UseSnapshot>;

class Mailbox {
 public:
  // Any thread. The caller then wakes the worker (Worker::post does both).
  void post(WorkerCommand command) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(command));
    pending_.store(true, std::memory_order_release);
  }
  // The worker: everything posted so far, oldest first; empty (and no lock taken) if nothing.
  std::vector<WorkerCommand> take() {
    if (!pending_.load(std::memory_order_acquire)) return {};
    std::lock_guard lock(mutex_);
    pending_.store(false, std::memory_order_relaxed);
    return std::exchange(queue_, {});
  }

 private:
  std::atomic<bool> pending_{false};
  std::mutex mutex_;
  std::vector<WorkerCommand> queue_;
};

}  // namespace ringlb::proxy
