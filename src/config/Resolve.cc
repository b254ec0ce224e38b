// Rules that relate several values of the document: names unique in their scope, a frontend's
// backend exists, no listen address used twice; then inheritance from `defaults`.
#include <map>
#include <string>
#include <unordered_map>

#include "Stages.h"

namespace ringlb::config::detail {
namespace {

// The entity a name belongs to is the parent of its path: "backends[1].name" -> "backends[1]".
std::string ownerOf(const std::string& namePath) {
  const auto dot = namePath.rfind('.');
  return dot == std::string::npos ? namePath : namePath.substr(0, dot);
}

// Reports every name that repeats an earlier one in the same scope, naming the first use.
template <class Draft>
void checkUniqueNames(const std::vector<Draft>& drafts, Diagnostics& diags) {
  std::unordered_map<std::string, const Located*> first;
  for (const Draft& draft : drafts) {
    if (!draft.name) continue;  // missing or not a scalar: already reported
    const auto [it, inserted] = first.emplace(draft.name->text, &*draft.name);
    if (!inserted) {
      const Located& earlier = *it->second;
      diags.error(draft.name->path,
                  "duplicate name " + quoted(draft.name->text) + ": already used by " +
                      ownerOf(earlier.path) + " on line " + std::to_string(earlier.line),
                  draft.name->line);
    }
  }
}

// Sets each frontend's backendIndex to the position of the backend it names. With duplicate
// backend names the first wins; the duplicate is already an error, so it never reaches a running
// config.
void linkBackends(DocumentDraft& draft, Diagnostics& diags) {
  if (!draft.backendsListed) return;
  std::unordered_map<std::string, std::size_t> backendIndex;
  for (std::size_t i = 0; i < draft.backends.size(); ++i) {
    if (draft.backends[i].name) backendIndex.emplace(draft.backends[i].name->text, i);
  }
  for (FrontendDraft& fe : draft.frontends) {
    if (!fe.backend) continue;  // missing or not a scalar: already reported
    const auto it = backendIndex.find(fe.backend->text);
    if (it == backendIndex.end()) {
      diags.error(fe.backend->path, "no backend named " + quoted(fe.backend->text),
                  fe.backend->line);
    } else {
      fe.value.backendIndex = it->second;
    }
  }
}

// Reports each listen address bound a second time anywhere in the file, naming the first use.
// Addresses compare by value ("[0::0]:80" is "[::]:80"). Port 0 asks the kernel for a fresh port
// on each bind, so it never collides.
void checkListenAddresses(const DocumentDraft& draft, Diagnostics& diags) {
  std::map<std::string, const ListenDraft*> first;  // canonical text -> first use
  for (const FrontendDraft& fe : draft.frontends) {
    for (const ListenDraft& listen : fe.listen) {
      if (listen.address.port() == 0) continue;
      const std::string canonical = listen.address.toString();
      const auto [it, inserted] = first.emplace(canonical, &listen);
      if (!inserted) {
        diags.error(listen.path,
                    canonical + " is already used by " + it->second->path + " on line " +
                        std::to_string(it->second->line),
                    listen.line);
      }
    }
  }
}

Timeouts inherit(Timeouts base, const TimeoutOverrides& set) {
  if (set.connect) base.connect = *set.connect;
  if (set.client) base.client = *set.client;
  if (set.server) base.server = *set.server;
  if (set.clientFin) base.clientFin = *set.clientFin;
  if (set.serverFin) base.serverFin = *set.serverFin;
  return base;
}

// Only the keys of `side` can be set in a frontend's or backend's `timeouts` (Schema.cc rejects
// the others), so applying all five overrides is the same as applying that side's.
Config resolveValues(DocumentDraft& draft) {
  Config config;
  config.global = draft.global;
  config.defaultTimeouts = inherit(Timeouts{}, draft.defaults.timeouts);
  // HAProxy: an unset client-fin/server-fin means the plain client/server timeout applies to
  // half-closed connections too. A short default would cut a client that half-closes after its
  // request and then waits for a slow answer.
  const bool clientFinSet = draft.defaults.timeouts.clientFin.has_value();
  const bool serverFinSet = draft.defaults.timeouts.serverFin.has_value();
  if (!clientFinSet) config.defaultTimeouts.clientFin = config.defaultTimeouts.client;
  if (!serverFinSet) config.defaultTimeouts.serverFin = config.defaultTimeouts.server;
  config.defaultRetries = draft.defaults.retries.value_or(config.defaultRetries);
  for (BackendDraft& be : draft.backends) {
    Backend backend = std::move(be.value);
    backend.retries = be.retries.value_or(config.defaultRetries);
    backend.timeouts = inherit(config.defaultTimeouts, be.timeouts);
    if (!serverFinSet && !be.timeouts.serverFin) backend.timeouts.serverFin = backend.timeouts.server;
    for (ServerDraft& server : be.servers) backend.servers.push_back(std::move(server.value));
    config.backends.push_back(std::move(backend));
  }
  for (FrontendDraft& fe : draft.frontends) {
    Frontend frontend = std::move(fe.value);
    frontend.timeouts = inherit(config.defaultTimeouts, fe.timeouts);
    if (!clientFinSet && !fe.timeouts.clientFin) frontend.timeouts.clientFin = frontend.timeouts.client;
    for (const ListenDraft& listen : fe.listen) frontend.listen.push_back(listen.address);
    config.frontends.push_back(std::move(frontend));
  }
  return config;
}

}  // namespace

Config resolve(DocumentDraft draft, Diagnostics& diags) {
  checkUniqueNames(draft.frontends, diags);
  checkUniqueNames(draft.backends, diags);
  for (const BackendDraft& be : draft.backends) checkUniqueNames(be.servers, diags);
  linkBackends(draft, diags);
  checkListenAddresses(draft, diags);
  return resolveValues(draft);
}

}  // namespace ringlb::config::detail
