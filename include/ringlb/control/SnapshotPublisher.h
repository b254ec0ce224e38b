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
// Threading: control thread only (the builds themselves get copies: the base snapshot, which is
// immutable, and the weights).
#include <functional>
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

  // The last published snapshot (the initial one until a rebuild completes).
  const proxy::SnapshotPtr& current() const { return current_; }
  // True while no rebuild runs or waits.
  bool idle() const { return !building_ && pending_.empty(); }
  // Rebuilds published since construction.
  uint64_t published() const { return published_; }

 private:
  void startNext();

  io::BackgroundThread& builder_;
  ServerRegistry& registry_;
  proxy::SnapshotPtr current_;
  Publish publish_;
  std::set<std::size_t> pending_;  // backend indexes asked for since the running build started
  std::vector<std::function<void()>> waiting_;  // their onPublished callbacks
  bool building_ = false;
  uint64_t published_ = 0;
};

}  // namespace ringlb::control
