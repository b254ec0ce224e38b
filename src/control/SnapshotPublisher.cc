#include "ringlb/control/SnapshotPublisher.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace ringlb::control {

SnapshotPublisher::SnapshotPublisher(io::BackgroundThread& builder, ServerRegistry& registry,
                                     proxy::SnapshotPtr initial, Publish publish)
    : builder_(builder), registry_(registry), current_(std::move(initial)), publish_(std::move(publish)) {}

bool SnapshotPublisher::rebuild(std::string_view backend, std::function<void()> onPublished) {
  const auto& backends = current_->config->backends;
  const auto it = std::find_if(backends.begin(), backends.end(),
                               [&](const config::Backend& b) { return b.name == backend; });
  if (it == backends.end()) return false;
  pending_.insert(static_cast<std::size_t>(it - backends.begin()));
  if (onPublished) waiting_.push_back(std::move(onPublished));
  if (!building_) startNext();
  return true;
}

void SnapshotPublisher::startNext() {
  if (pending_.empty()) return;
  building_ = true;
  // Everything the build reads is copied or immutable: the base snapshot, and the weights as
  // the registry has them now (a slow-start ramp reads the clock here, not on the thread).
  struct Work {
    std::size_t backend;
    std::vector<uint32_t> weights;
  };
  std::vector<Work> work;
  for (std::size_t b : pending_) work.push_back(Work{b, registry_.effectiveWeights(current_->config->backends[b])});
  pending_.clear();
  builder_.submit([this, base = current_, work = std::move(work),
                   waiting = std::exchange(waiting_, {})]() mutable -> io::BackgroundThread::Continuation {
    proxy::SnapshotPtr next = base;
    for (const Work& w : work) {
      const config::Backend& cfg = base->config->backends[w.backend];
      next = proxy::rebuildBackend(*next, w.backend,
                                   [&](const config::Backend&, const config::Server& server) {
                                     return w.weights[static_cast<std::size_t>(&server - cfg.servers.data())];
                                   });
    }
    return [this, next = std::move(next), waiting = std::move(waiting)] {
      current_ = next;
      ++published_;
      building_ = false;
      publish_(current_);
      for (const auto& callback : waiting) callback();
      startNext();
    };
  });
}

}  // namespace ringlb::control
