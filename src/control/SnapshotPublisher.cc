#include "ringlb/control/SnapshotPublisher.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace ringlb::control {

SnapshotPublisher::SnapshotPublisher(io::BackgroundThread& builder, ServerRegistry& registry,
                                     proxy::SnapshotPtr initial, Publish publish)
    : builder_(builder), registry_(registry), current_(std::move(initial)), publish_(std::move(publish)) {}

bool SnapshotPublisher::rebuild(std::string_view backend, std::function<void()> onPublished) {
  const auto& backends = latestConfig().backends;
  const auto it = std::find_if(backends.begin(), backends.end(),
                               [&](const config::Backend& b) { return b.name == backend; });
  if (it == backends.end()) return false;
  pending_.insert(std::string(backend));
  if (onPublished) waiting_.push_back(std::move(onPublished));
  if (!building_) startNext();
  return true;
}

void SnapshotPublisher::replace(std::shared_ptr<const config::Config> config, Sources sources,
                                std::function<void()> onPublished) {
  replacement_ = Replacement{std::move(config), std::move(sources)};
  if (onPublished) waiting_.push_back(std::move(onPublished));
  if (!building_) startNext();
}

void SnapshotPublisher::startNext() {
  if (replacement_) {
    startReplace();
    return;
  }
  if (pending_.empty()) return;
  building_ = true;
  // Everything the build reads is copied or immutable: the base snapshot, and the weights as
  // the registry has them now (a slow-start ramp reads the clock here, not on the thread).
  struct Work {
    std::size_t backend;
    std::vector<uint32_t> weights;
  };
  std::vector<Work> work;
  const auto& backends = current_->config->backends;
  for (const std::string& name : pending_) {
    const auto it = std::find_if(backends.begin(), backends.end(),
                                 [&](const config::Backend& b) { return b.name == name; });
    if (it == backends.end()) continue;  // a reload removed it meanwhile
    work.push_back(Work{static_cast<std::size_t>(it - backends.begin()), registry_.effectiveWeights(*it)});
  }
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
    return [this, next = std::move(next), waiting = std::move(waiting)]() mutable {
      published(std::move(next), std::move(waiting));
    };
  });
}

void SnapshotPublisher::startReplace() {
  building_ = true;
  Replacement replacement = std::move(*replacement_);
  replacement_.reset();
  // Every weight is read now, so the backends asked for so far are covered.
  pending_.clear();
  proxy::SnapshotSources sources = replacement.sources();
  sources.previous = current_;
  buildingConfig_ = replacement.config;
  builder_.submit([this, config = std::move(replacement.config), sources = std::move(sources),
                   waiting = std::exchange(waiting_, {})]() mutable -> io::BackgroundThread::Continuation {
    proxy::SnapshotPtr next = proxy::buildSnapshot(config, sources);
    return [this, next = std::move(next), waiting = std::move(waiting)]() mutable {
      published(std::move(next), std::move(waiting));
    };
  });
}

void SnapshotPublisher::published(proxy::SnapshotPtr next, std::vector<std::function<void()>> waiting) {
  current_ = std::move(next);
  ++published_;
  building_ = false;
  buildingConfig_.reset();
  publish_(current_);
  for (const auto& callback : waiting) callback();
  startNext();
}

}  // namespace ringlb::control
