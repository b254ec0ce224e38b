#include "ringlb/control/ServerRegistry.h"

#include <spdlog/spdlog.h>

#include "ringlb/health/SlowStart.h"

namespace ringlb::control {

namespace {
std::string key(std::string_view backend, std::string_view server) {
  std::string k(backend);
  k += '/';
  k += server;
  return k;
}
health::AdminState adminStateOf(config::AdminState state) {
  switch (state) {
    case config::AdminState::Active: return health::AdminState::Active;
    case config::AdminState::Draining: return health::AdminState::Draining;
    case config::AdminState::Maintenance: return health::AdminState::Maintenance;
  }
  return health::AdminState::Active;  // unreachable: -Wswitch checks every enumerator above
}

health::HealthParams paramsOf(const config::Backend& backend) {
  health::HealthParams params;
  params.rise = static_cast<uint16_t>(backend.healthCheck.rise);
  params.fall = static_cast<uint16_t>(backend.healthCheck.fall);
  // `initial: down` (the default with checks on): down until the first check succeeds, then up
  // at once (HAProxy 3.1's init-state down). `initial: up`: believed up, the first failure takes
  // it down (HAProxy 2.x's behaviour).
  params.initial = backend.healthCheck.initialUp ? health::InitialHealth::Up : health::InitialHealth::Down;
  params.closeOnMarkedDown = backend.onMarkedDown == config::OnMarkedDown::Shutdown;
  return params;
}

}  // namespace

ServerRecord& ServerRegistry::recordFor(const config::Backend& backend, const config::Server& server,
                                        bool* created) {
  auto& slot = records_[key(backend.name, server.name)];
  *created = !slot;
  if (!slot) {
    slot = std::make_unique<ServerRecord>();
    slot->backend = backend.name;
    slot->name = server.name;
    slot->live = std::make_shared<lb::LiveServer>();
    slot->live->id = static_cast<uint32_t>(records_.size() - 1);  // never reused: records stay
    startOver(*slot, backend, server);
  }
  return *slot;
}

void ServerRegistry::startOver(ServerRecord& record, const config::Backend& backend,
                               const config::Server& server) {
  record.params = paramsOf(backend);
  const bool checked = backend.healthCheck.type != config::CheckType::None;
  record.state = health::initialState(record.params, checked);
  if (server.state != config::AdminState::Active) {
    record.state =
        health::apply(record.state, health::Event::adminSet(adminStateOf(server.state)), record.params).state;
  }
  record.rampFrom.reset();
  record.lastCheck.reset();
  record.live->eligible.store(health::eligible(record.state), std::memory_order_relaxed);
}

void ServerRegistry::adopt(const config::Config& config) {
  ordered_.clear();
  for (const config::Backend& backend : config.backends) {
    for (const config::Server& server : backend.servers) {
      bool created = false;
      ServerRecord& record = recordFor(backend, server, &created);
      record.address = server.address;
      record.weight = server.weight;
      record.fileWeight = server.weight;
      record.fileState = adminStateOf(server.state);
      record.slowStart = server.slowStart;
      ordered_.push_back(&record);
    }
  }
}

std::vector<ServerRegistry::Reconciled> ServerRegistry::reconcile(const config::Config& running,
                                                                 const config::Config& next) {
  // The running file's servers by identity, to tell "the file changed it" from "it was changed
  // at run time".
  std::map<std::string, const config::Server*, std::less<>> before;
  for (const config::Backend& backend : running.backends) {
    for (const config::Server& server : backend.servers) before[key(backend.name, server.name)] = &server;
  }
  std::vector<Reconciled> out;
  ordered_.clear();
  for (const config::Backend& backend : next.backends) {
    const bool checked = backend.healthCheck.type != config::CheckType::None;
    for (const config::Server& server : backend.servers) {
      bool created = false;
      ServerRecord& record = recordFor(backend, server, &created);
      ordered_.push_back(&record);
      record.fileWeight = server.weight;
      record.fileState = adminStateOf(server.state);
      const auto old = before.find(key(backend.name, server.name));
      if (created || old == before.end()) {
        // New to the file (or back after a reload removed it): a new server's state, weight
        // and address; its counters, if it had any, continue.
        if (!created) startOver(record, backend, server);
        record.address = server.address;
        record.weight = server.weight;
        record.slowStart = server.slowStart;
        continue;
      }
      const config::Server& was = *old->second;
      record.slowStart = server.slowStart;
      if (server.weight != was.weight) record.weight = server.weight;
      if (!(server.address == was.address)) {
        spdlog::warn("server {}: address {} -> {}: its health starts over", record.id(),
                     record.address.toString(), server.address.toString());
        record.address = server.address;
        // Health starts over; the admin state stays unless the file changed it too.
        const health::AdminState admin = server.state != was.state ? adminStateOf(server.state) : record.state.admin;
        startOver(record, backend, server);
        if (record.state.admin != admin) {
          record.state = health::apply(record.state, health::Event::adminSet(admin), record.params).state;
          record.live->eligible.store(health::eligible(record.state), std::memory_order_relaxed);
        }
        continue;
      }
      record.params = paramsOf(backend);
      if (checked != record.state.checked) {
        const auto event = checked ? health::Event::checksEnabled() : health::Event::checksDisabled();
        out.push_back({&record, apply(record, event, checked ? "health checks turned on by a reload"
                                                             : "health checks turned off by a reload")});
      }
      if (server.state != was.state) {
        out.push_back({&record, apply(record, health::Event::adminSet(adminStateOf(server.state)),
                                      "state set by a reload")});
      }
    }
  }
  return out;
}

void ServerRegistry::restore(ServerRecord& record, health::AdminState admin, std::optional<bool> up,
                             uint32_t weight) {
  record.state.admin = admin;
  if (up && record.state.checked) {
    record.state.health = *up ? health::Health::Up : health::Health::Down;
    record.state.count = 0;
  }
  // The state machine keeps Maintenance's health canonical (DOWN when checked): what leaving it
  // starts from.
  if (admin == health::AdminState::Maintenance && record.state.checked) record.state.health = health::Health::Down;
  record.weight = weight;
  record.live->eligible.store(health::eligible(record.state), std::memory_order_relaxed);
}

ServerRecord* ServerRegistry::find(std::string_view backend, std::string_view server) {
  const auto it = records_.find(key(backend, server));
  return it == records_.end() ? nullptr : it->second.get();
}

const ServerRecord* ServerRegistry::find(std::string_view backend, std::string_view server) const {
  const auto it = records_.find(key(backend, server));
  return it == records_.end() ? nullptr : it->second.get();
}

health::Transition ServerRegistry::apply(ServerRecord& record, const health::Event& event,
                                         std::string_view cause) {
  const health::ServerState before = record.state;
  const health::Transition t = health::apply(record.state, event, record.params);
  record.state = t.state;
  record.live->eligible.store(health::eligible(t.state), std::memory_order_relaxed);
  if (t.actions.has(health::Action::LogAndCount)) {
    ++record.transitions;
    spdlog::warn("server {} is now {} (was {}): {}", record.id(),
                 health::toString(t.state, record.params), health::toString(before, record.params),
                 cause);
  }
  return t;
}

proxy::LiveServerSource ServerRegistry::liveSource() {
  return [this](const config::Backend& backend, const config::Server& server) {
    ServerRecord* record = find(backend.name, server.name);
    // adopt() ran first for this config: every server has a record. Should one be missing, a
    // fresh record keeps the snapshot whole rather than crash.
    return record != nullptr ? record->live : std::make_shared<lb::LiveServer>();
  };
}

uint32_t ServerRegistry::effectiveWeight(const ServerRecord& record) {
  if (!record.rampFrom) return record.weight;
  return health::rampWeight(record.weight,
                            std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - *record.rampFrom),
                            record.slowStart);
}

std::vector<uint32_t> ServerRegistry::effectiveWeights(const config::Backend& backend) {
  std::vector<uint32_t> weights;
  weights.reserve(backend.servers.size());
  for (const config::Server& server : backend.servers) {
    const ServerRecord* record = find(backend.name, server.name);
    weights.push_back(record != nullptr ? effectiveWeight(*record) : server.weight);
  }
  return weights;
}

}  // namespace ringlb::control
