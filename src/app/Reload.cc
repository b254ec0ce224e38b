// Reloading the configuration in place (docs/operations.md, "Reloading"): the file is parsed and
// validated off the loop; then, on the loop, what only the running process can check (listeners
// to open, slot capacity) before anything changes; then the runtime state is merged
// (ServerRegistry::reconcile), the health checks follow, and the new snapshot is built off the
// loop, reusing unchanged backends, and handed to the workers with their listener sets.
// Nothing is half-applied: every check that can fail runs before the first change.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "ringlb/app/Server.h"
#include "ringlb/config/Diff.h"

namespace ringlb::app {

namespace {

// Server identities the workers' counters can hold over the process's life (never reused).
constexpr std::size_t kMaxServerSlots = decltype(stats::WorkerCounters::servers)::kMaxSlots;

// Names in `config` that `slots` has not seen yet.
template <class List>
std::size_t newNames(const List& list, const stats::SlotNames& slots) {
  std::size_t n = 0;
  for (const auto& item : list) n += slots.find(item.name) == nullptr ? 1 : 0;
  return n;
}

}  // namespace

void Server::reload(ReloadDone done) {
  if (done) reloadWaiters_.push_back(std::move(done));
  reloadAsked_ = true;
  if (!reloading_) beginReload();
}

void Server::beginReload() {
  reloading_ = true;
  reloadAsked_ = false;
  // The file is read when this reload starts: requests made while it runs get the next one,
  // which reads the file again (it may have been edited meanwhile).
  std::vector<ReloadDone> waiters = std::exchange(reloadWaiters_, {});
  builder_->submit([this, path = config_->source, waiters = std::move(waiters)]() mutable
                   -> io::BackgroundThread::Continuation {
    auto loaded = std::make_shared<config::LoadResult>(config::loadFile(path));
    return [this, loaded, waiters = std::move(waiters)]() mutable {
      applyReload(std::move(*loaded), std::move(waiters));
    };
  });
}

void Server::applyReload(config::LoadResult loaded, std::vector<ReloadDone> waiters) {
  auto fail = [&](std::vector<std::string> lines) {
    finishReload(ReloadResult{false, std::move(lines), {}}, waiters);
  };
  if (stopping_) return fail({"the process is stopping"});
  if (!loaded.ok()) {
    std::vector<std::string> lines;
    for (const config::ConfigError& e : loaded.errors) lines.push_back(config_->source + ": " + e.toString());
    return fail(std::move(lines));
  }
  auto next = std::make_shared<config::Config>(std::move(*loaded.config));
  const config::ConfigDiff diff = config::diff(*config_, *next);
  config::keepRestartOnly(*config_, *next);
  std::vector<std::string> lines = diff.describe();
  std::vector<std::string> warnings;
  // The configuration's warnings, once it is sure to be applied: logged now, before the outcome
  // line, so that whoever waits for "done" has seen them too; the admin socket's reply carries
  // them after the changes.
  auto addWarnings = [&] {
    for (const config::ConfigError& w : loaded.warnings) {
      spdlog::warn("{}: {}", config_->source, w.toString());
      warnings.push_back(config_->source + ": " + w.toString());
    }
  };
  if (diff.empty()) {
    // Nothing to apply: the runtime state stays exactly as it is.
    addWarnings();
    finishReload(ReloadResult{true, std::move(lines), std::move(warnings)}, waiters);
    return;
  }

  // Checks that can fail, before anything changes.
  if (frontendSlots_.size() + newNames(next->frontends, frontendSlots_) > proxy::kMaxFrontendSlots ||
      backendSlots_.size() + newNames(next->backends, backendSlots_) > proxy::kMaxFrontendSlots) {
    return fail({"more distinct frontend or backend names over this process's life than its counters "
                 "hold (4096 each); restart to apply this configuration"});
  }
  std::size_t newServers = 0;
  for (const config::Backend& b : next->backends) {
    for (const config::Server& srv : b.servers) newServers += registry_.find(b.name, srv.name) == nullptr ? 1 : 0;
  }
  if (registry_.size() + newServers > kMaxServerSlots) {
    return fail({"more distinct backend/server names over this process's life than its counters hold (" +
                 std::to_string(kMaxServerSlots) + "); restart to apply this configuration"});
  }
  Listeners layout;
  std::string listenError;
  if (!Listeners::plan(*next, static_cast<unsigned>(workers_.size()), listeners_, nullptr, &layout,
                       &listenError)) {
    return fail({listenError});
  }
  addWarnings();

  // Apply: runtime state, listening sockets' options, checks, then the snapshot (off the loop).
  layout.applySocketOptions(*next);
  for (const auto& [record, transition] : registry_.reconcile(*config_, *next)) {
    onTransition(*record, transition);
  }
  checker_->reconfigure(*next);
  for (const BoundAddress* a : layout.addedTo(listeners_)) {
    spdlog::info("frontend '{}' listening on {}", next->frontends[a->frontend].name, a->bound.toString());
  }
  for (const net::Address& a : layout.removedFrom(listeners_)) {
    spdlog::info("no longer listening on {} (taking what is queued, then closing)", a.toString());
  }
  config_ = next;
  ++reloadGeneration_;  // sockets handed over before this are not the workers' after it
  pendingConfig_ = next;
  pendingListeners_ = std::move(layout);
  publisher_->replace(
      next, [this, next] { return reloadSources(*next); },
      [this, next, lines = std::move(lines), warnings = std::move(warnings),
       waiters = std::move(waiters)]() mutable {
        // The pipe pools' share of the descriptors depends on max_connections.
        proxy::refreshDescriptorBudget(*shared_, next->global.maxConnections,
                                       proxy::WorkerOptions{}.pipePoolIdle);
        // "done" once every worker's new connections get the new configuration, not when it is
        // merely handed over: an operator (or a test) may act on it at once.
        afterWorkersTake([this, lines = std::move(lines), warnings = std::move(warnings),
                          waiters = std::move(waiters)]() mutable {
          finishReload(ReloadResult{true, std::move(lines), std::move(warnings)}, waiters);
        });
      });
}

proxy::SnapshotSources Server::reloadSources(const config::Config& next) {
  // Resolved here, on the loop, into plain copies: the build reads only these.
  using Key = std::pair<std::string, std::string>;
  auto live = std::make_shared<std::map<Key, std::shared_ptr<lb::LiveServer>>>();
  auto weights = std::make_shared<std::map<Key, uint32_t>>();
  for (const config::Backend& backend : next.backends) {
    for (const config::Server& server : backend.servers) {
      const control::ServerRecord* record = registry_.find(backend.name, server.name);
      if (record == nullptr) continue;  // reconcile() made one for every server
      (*live)[Key{backend.name, server.name}] = record->live;
      (*weights)[Key{backend.name, server.name}] = control::ServerRegistry::effectiveWeight(*record);
    }
  }
  auto frontends = std::make_shared<std::map<std::string, uint32_t, std::less<>>>();
  auto backends = std::make_shared<std::map<std::string, uint32_t, std::less<>>>();
  for (const config::Frontend& f : next.frontends) (*frontends)[f.name] = frontendSlots_.slotOf(f.name);
  for (const config::Backend& b : next.backends) (*backends)[b.name] = backendSlots_.slotOf(b.name);

  proxy::SnapshotSources sources;
  sources.live = [live](const config::Backend& backend, const config::Server& server) {
    const auto it = live->find(Key{backend.name, server.name});
    return it != live->end() ? it->second : std::make_shared<lb::LiveServer>();
  };
  sources.weight = [weights](const config::Backend& backend, const config::Server& server) {
    const auto it = weights->find(Key{backend.name, server.name});
    return it != weights->end() ? it->second : server.weight;
  };
  sources.slots.frontend = [frontends](std::string_view name) { return frontends->find(name)->second; };
  sources.slots.backend = [backends](std::string_view name) { return backends->find(name)->second; };
  sources.counters = shared_;
  return sources;
}

void Server::finishReload(ReloadResult result, const std::vector<ReloadDone>& waiters) {
  process_.lastReloadSeconds =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  process_.lastReloadOk = result.ok;
  if (result.ok) {
    ++process_.reloadsOk;
    spdlog::info("reload of {} done", config_->source);
    // The changes; the warnings were logged as they were found.
    for (const std::string& line : result.lines) spdlog::info("  {}", line);
  } else {
    ++process_.reloadsFailed;
    spdlog::error("reload of {} failed; still running the previous configuration", config_->source);
    for (const std::string& line : result.lines) spdlog::error("  {}", line);
  }
  for (const ReloadDone& done : waiters) {
    if (done) done(result);
  }
  reloading_ = false;
  if (reloadAsked_) beginReload();
}

}  // namespace ringlb::app
