#include "ringlb/control/ServerRegistry.h"

#include <spdlog/spdlog.h>

namespace ringlb::control {

namespace {
std::string key(std::string_view backend, std::string_view server) {
  std::string k(backend);
  k += '/';
  k += server;
  return k;
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
        slot->state = health::initialState(slot->params, /*checked=*/false);
        slot->live->eligible.store(health::eligible(slot->state), std::memory_order_relaxed);
      }
      slot->address = server.address;
      slot->weight = server.weight;
      ordered_.push_back(slot.get());
    }
  }
}

ServerRecord* ServerRegistry::find(std::string_view backend, std::string_view server) {
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

}  // namespace ringlb::control
