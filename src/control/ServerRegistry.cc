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

void ServerRegistry::adopt(const config::Config& config) {
  ordered_.clear();
  for (const config::Backend& backend : config.backends) {
    for (const config::Server& server : backend.servers) {
      auto& slot = records_[key(backend.name, server.name)];
      if (!slot) {
        slot = std::make_unique<ServerRecord>();
        slot->backend = backend.name;
        slot->name = server.name;
        slot->live = std::make_shared<lb::LiveServer>();
        slot->live->id = static_cast<uint32_t>(records_.size() - 1);  // never reused: records stay
        slot->params = paramsOf(backend);
        const bool checked = backend.healthCheck.type != config::CheckType::None;
        slot->state = health::initialState(slot->params, checked);
        if (server.state != config::AdminState::Active) {
          slot->state =
              health::apply(slot->state, health::Event::adminSet(adminStateOf(server.state)),
                            slot->params)
                  .state;
        }
        slot->live->eligible.store(health::eligible(slot->state), std::memory_order_relaxed);
      }
      slot->address = server.address;
      slot->weight = server.weight;
      slot->slowStart = server.slowStart;
      ordered_.push_back(slot.get());
    }
  }
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
