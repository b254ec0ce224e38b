#pragma once
// Owns the snapshot the workers should use and rebuilds it off the control loop. A weight
// change or a slow-start step asks for one backend's balancers to be rebuilt; the rebuild runs
// on a io::BackgroundThread (a rendezvous table over 4,096 servers takes most of a second), and
// its result is published from the loop's thread. Meanwhile the loop keeps serving the admin
// socket and the health checks, and the workers keep the previous snapshot.
//
// Requests made while a rebuild runs are merged into one next rebuild, which reads the
// registry's weights when it starts: a burst of `set weight` commands costs at most two
// rebuilds, and the last published snapshot always has the latest weights.
//
// A reload replaces the whole snapshot (replace()): its build also runs on the background
// thread, after the one running, and reuses every backend whose balancer inputs did not change.
// Builds run one at a time and each starts from the snapshot published last, so a result never
// goes out based on a snapshot that was already replaced. Backends are named by name until a
// build starts, never by a position that a reload could shift.
//
// Threading: control thread only (the builds themselves get copies: the base snapshot, which is
// immutable, and the weights).
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ringlb/control/ServerRegistry.h"
#include "ringlb/io/BackgroundThread.h"
#include "ringlb/proxy/Snapshot.h"

namespace ringlb::control {

class SnapshotPublisher {
 public:
  // Called on the loop's thread with each new snapshot (hand it to the workers).
  using Publish = std::function<void(const proxy::SnapshotPtr&)>;

  SnapshotPublisher(io::BackgroundThread& builder, ServerRegistry& registry,
                    proxy::SnapshotPtr initial, Publish publish);

  // Asks for `backend`'s balancers to be rebuilt with the registry's effective weights;
  // `onPublished` (if any) runs right after the snapshot with them was published. False
  // (nothing asked, `onPublished` dropped) if the current configuration has no such backend.
  bool rebuild(std::string_view backend, std::function<void()> onPublished = {});

  // A reload: `config` replaces the running configuration. `sources` runs on the loop's thread
  // when the build starts (after any build running now) and gives what the new snapshot reads
  // from the control plane: live records, weights, slots, the shared counters. They must be
  // copies (the build runs on the background thread); the publisher adds `previous`, the
  // snapshot published last. Per-backend rebuilds asked for before the build starts are folded
  // into it (it reads every weight then). `onPublished` runs right after its snapshot is
  // published. A replace asked for while another waits supersedes it (both callbacks run).
  using Sources = std::function<proxy::SnapshotSources()>;
  void replace(std::shared_ptr<const config::Config> config, Sources sources,
               std::function<void()> onPublished = {});

  // The last published snapshot (the initial one until a rebuild completes).
  const proxy::SnapshotPtr& current() const { return current_; }
  // The configuration the next published snapshot will have: a waiting replace's, else the
  // current one's.
  const config::Config& latestConfig() const {
    if (replacement_) return *replacement_->config;
    return buildingConfig_ ? *buildingConfig_ : *current_->config;
  }
  // True while no rebuild runs or waits.
  bool idle() const { return !building_ && pending_.empty() && !replacement_; }
  // Rebuilds published since construction.
  uint64_t published() const { return published_; }

 private:
  void startNext();
  void startReplace();
  // Runs on the loop when a build's result is back.
  void published(proxy::SnapshotPtr next, std::vector<std::function<void()>> waiting);

  io::BackgroundThread& builder_;
  ServerRegistry& registry_;
  proxy::SnapshotPtr current_;
  Publish publish_;
  std::set<std::string, std::less<>> pending_;  // backends asked for since the running build started
  std::vector<std::function<void()>> waiting_;  // their onPublished callbacks
  struct Replacement {
    std::shared_ptr<const config::Config> config;
    Sources sources;
  };
  std::optional<Replacement> replacement_;  // a reload waiting for the builder
  std::shared_ptr<const config::Config> buildingConfig_;  // a reload's, while its build runs
  bool building_ = false;
  uint64_t published_ = 0;
};

}  // namespace ringlb::control
