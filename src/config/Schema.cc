// The document schema as key tables, one per section (Redis config.c style): adding a key is one
// table line with its reader. Types and ranges live here; rules that relate several values
// (names unique, references exist, inheritance) live in Resolve.cc.
#include <array>

#include "KeyTable.h"
#include "Stages.h"

namespace ringlb::config::detail {
namespace {

using enum Presence;

constexpr uint32_t kMaxRetries = 16;
constexpr uint32_t kMaxWeight = 1000;

// ---- timeouts: one table per place it appears ---------------------------------------------------

// Which side of a session a timeout governs, and so where it may be set: client-side timeouts
// belong to frontends, server-side ones to backends, and `defaults` may set all of them.
enum class Side { Client, Server, Any };

template <Side Where>
void storeTimeoutValue(const Field& field, Side keySide, std::optional<Duration>& out,
                       Diagnostics& diags) {
  if constexpr (Where != Side::Any) {
    if (keySide != Where) {
      diags.error(field.path,
                  Where == Side::Client ? "applies to backends, not frontends"
                                        : "applies to frontends, not backends",
                  field.line);
      return;
    }
  }
  if (auto value = readDuration(field, ZeroDuration::Rejected, diags)) out = value;
}

template <Side Where>
constexpr std::array<Key<TimeoutOverrides>, 5> kTimeoutKeys{{
    {"connect", Optional,
     [](const Field& f, TimeoutOverrides& t, Diagnostics& d) {
       storeTimeoutValue<Where>(f, Side::Server, t.connect, d);
     }},
    {"client", Optional,
     [](const Field& f, TimeoutOverrides& t, Diagnostics& d) {
       storeTimeoutValue<Where>(f, Side::Client, t.client, d);
     }},
    {"server", Optional,
     [](const Field& f, TimeoutOverrides& t, Diagnostics& d) {
       storeTimeoutValue<Where>(f, Side::Server, t.server, d);
     }},
    {"client_fin", Optional,
     [](const Field& f, TimeoutOverrides& t, Diagnostics& d) {
       storeTimeoutValue<Where>(f, Side::Client, t.clientFin, d);
     }},
    {"server_fin", Optional,
     [](const Field& f, TimeoutOverrides& t, Diagnostics& d) {
       storeTimeoutValue<Where>(f, Side::Server, t.serverFin, d);
     }},
}};

template <Side Where>
void storeTimeouts(const Field& field, TimeoutOverrides& out, Diagnostics& diags) {
  readOptionalMap<TimeoutOverrides>(field, kTimeoutKeys<Where>, out, diags);
}

// ---- global, defaults ----------------------------------------------------------------------------

// The value read, with its line recorded for the buffer-memory check; or that it failed to read.
template <class T>
void storeSizing(const Field& field, std::optional<T> value, T& out, int& line, GlobalDraft& g) {
  if (value) {
    out = *value;
    line = field.line;
  } else {
    g.sizingUnread = true;
  }
}

constexpr std::array<Key<GlobalDraft>, 6> kGlobalKeys{{
    {"workers", Optional,
     [](const Field& f, GlobalDraft& g, Diagnostics& d) {
       storeSizing(f, readWorkers(f, d), g.value.workers, g.workersLine, g);
     }},
    {"max_connections", Optional,
     [](const Field& f, GlobalDraft& g, Diagnostics& d) {
       if (auto v = readUnsigned(f, 1, kUnbounded, d)) g.value.maxConnections = *v;
     }},
    {"shutdown_grace", Optional,
     [](const Field& f, GlobalDraft& g, Diagnostics& d) {
       if (auto v = readDuration(f, ZeroDuration::Allowed, d)) g.value.shutdownGrace = *v;
     }},
    {"hash_seed", Optional,
     [](const Field& f, GlobalDraft& g, Diagnostics& d) {
       if (auto v = readHashSeed(f, d)) g.value.hashSeed = *v;
     }},
    {"buffers", Optional,
     [](const Field& f, GlobalDraft& g, Diagnostics& d) {
       std::optional<unsigned> count;
       if (auto v = readUnsigned(f, 2, 32768, d)) {
         if ((*v & (*v - 1)) != 0) {
           d.error(f.path, "must be a power of two", f.line);
         } else {
           count = static_cast<unsigned>(*v);
         }
       }
       storeSizing(f, count, g.value.buffers, g.buffersLine, g);
     }},
    {"buffer_size", Optional,
     [](const Field& f, GlobalDraft& g, Diagnostics& d) {
       std::optional<unsigned> size;
       if (auto v = readUnsigned(f, 1024, 1 << 20, d)) size = static_cast<unsigned>(*v);
       storeSizing(f, size, g.value.bufferSize, g.bufferSizeLine, g);
     }},
}};

constexpr std::array<Key<DefaultsDraft>, 2> kDefaultsKeys{{
    {"timeouts", Optional,
     [](const Field& f, DefaultsDraft& t, Diagnostics& d) {
       storeTimeouts<Side::Any>(f, t.timeouts, d);
     }},
    {"retries", Optional,
     [](const Field& f, DefaultsDraft& t, Diagnostics& d) {
       if (auto v = readUnsigned(f, 0, kMaxRetries, d)) t.retries = static_cast<uint32_t>(*v);
     }},
}};

// ---- frontends -----------------------------------------------------------------------------------

std::optional<Located> readLocatedName(const Field& field, Diagnostics& diags) {
  auto text = readName(field, diags);
  if (!text) return std::nullopt;
  return Located{std::move(*text), field.path, field.line};
}

void storeListenItem(const Field& field, FrontendDraft& fe, Diagnostics& diags) {
  if (auto address = readAddress(field, AddressUse::Listen, diags)) {
    fe.listen.push_back(ListenDraft{*address, field.path, field.line});
  }
}

// `listen` is a list of addresses, or one address as a plain string.
void storeListen(const Field& field, FrontendDraft& fe, Diagnostics& diags) {
  if (field.node.IsScalar()) {
    storeListenItem(field, fe, diags);
    return;
  }
  if (!field.node.IsSequence()) {
    diags.error(field.path, "expected an address or a list of addresses, got " +
                                describe(field.node), field.line);
    return;
  }
  if (field.node.size() == 0) {
    diags.error(field.path, "must list at least one address", field.line);
    return;
  }
  forEachItem(
      field,
      [&](const Field& item) { storeListenItem(item, fe, diags); },
      diags);
}

constexpr std::array<Key<FrontendDraft>, 5> kFrontendKeys{{
    {"name", Required,
     [](const Field& f, FrontendDraft& fe, Diagnostics& d) {
       fe.name = readLocatedName(f, d);
       if (fe.name) fe.value.name = fe.name->text;
     }},
    {"listen", Required, &storeListen},
    {"backend", Required,
     [](const Field& f, FrontendDraft& fe, Diagnostics& d) {
       if (auto text = readText(f, "a backend name", d)) {
         fe.backend = Located{*text, f.path, f.line};
         fe.value.backend = std::move(*text);
       }
     }},
    {"max_connections", Optional,
     [](const Field& f, FrontendDraft& fe, Diagnostics& d) {
       if (auto v = readUnsigned(f, 0, kUnbounded, d)) fe.value.maxConnections = *v;
     }},
    {"timeouts", Optional,
     [](const Field& f, FrontendDraft& fe, Diagnostics& d) {
       storeTimeouts<Side::Client>(f, fe.timeouts, d);
     }},
}};

// ---- backends and their servers ------------------------------------------------------------------

constexpr std::array<Key<ServerDraft>, 4> kServerKeys{{
    {"name", Required,
     [](const Field& f, ServerDraft& s, Diagnostics& d) {
       s.name = readLocatedName(f, d);
       if (s.name) s.value.name = s.name->text;
     }},
    {"address", Required,
     [](const Field& f, ServerDraft& s, Diagnostics& d) {
       if (auto v = readAddress(f, AddressUse::Server, d)) s.value.address = *v;
     }},
    {"weight", Optional,
     [](const Field& f, ServerDraft& s, Diagnostics& d) {
       if (auto v = readUnsigned(f, 0, kMaxWeight, d)) s.value.weight = static_cast<uint32_t>(*v);
     }},
    {"max_connections", Optional,
     [](const Field& f, ServerDraft& s, Diagnostics& d) {
       if (auto v = readUnsigned(f, 0, UINT32_MAX, d)) {
         s.value.maxConnections = static_cast<uint32_t>(*v);
       }
     }},
}};

// Reads a list of maps (servers, frontends, backends), each item against `keys`, recording its
// line; an empty list is an error naming what it must contain. Returns whether it was a list.
template <typename Draft>
bool storeList(const Field& field, std::span<const Key<Draft>> keys, std::vector<Draft>& out,
               const char* what, Diagnostics& diags) {
  const bool listed = forEachItem(
      field,
      [&](const Field& item) {
        Draft draft;
        draft.value.line = item.line;
        readMap<Draft>(item, keys, draft, diags);
        out.push_back(std::move(draft));
      },
      diags);
  if (listed && field.node.size() == 0) {
    diags.error(field.path, std::string("must list at least one ") + what, field.line);
  }
  return listed;
}

void storeServers(const Field& field, BackendDraft& be, Diagnostics& diags) {
  storeList<ServerDraft>(field, kServerKeys, be.servers, "server", diags);
}

constexpr std::array<Key<BackendDraft>, 7> kBackendKeys{{
    {"name", Required,
     [](const Field& f, BackendDraft& be, Diagnostics& d) {
       be.name = readLocatedName(f, d);
       if (be.name) be.value.name = be.name->text;
     }},
    {"relay", Optional,
     [](const Field& f, BackendDraft& be, Diagnostics& d) {
       if (auto v = readRelayMode(f, d)) be.value.relay = *v;
     }},
    {"balance", Optional,
     [](const Field& f, BackendDraft& be, Diagnostics& d) {
       if (auto v = readAlgorithm(f, d)) be.value.balance = *v;
     }},
    {"hash_key", Optional,
     [](const Field& f, BackendDraft& be, Diagnostics& d) {
       if (auto v = readHashKey(f, d)) be.value.hashKey = *v;
     }},
    {"retries", Optional,
     [](const Field& f, BackendDraft& be, Diagnostics& d) {
       if (auto v = readUnsigned(f, 0, kMaxRetries, d)) be.retries = static_cast<uint32_t>(*v);
     }},
    {"timeouts", Optional,
     [](const Field& f, BackendDraft& be, Diagnostics& d) {
       storeTimeouts<Side::Server>(f, be.timeouts, d);
     }},
    {"servers", Required, &storeServers},
}};

// ---- the document --------------------------------------------------------------------------------

void storeFrontends(const Field& field, DocumentDraft& doc, Diagnostics& diags) {
  storeList<FrontendDraft>(field, kFrontendKeys, doc.frontends, "frontend", diags);
}

void storeBackends(const Field& field, DocumentDraft& doc, Diagnostics& diags) {
  doc.backendsListed = storeList<BackendDraft>(field, kBackendKeys, doc.backends, "backend", diags);
}

constexpr std::array<Key<DocumentDraft>, 4> kDocumentKeys{{
    {"global", Optional,
     [](const Field& f, DocumentDraft& doc, Diagnostics& d) {
       readOptionalMap<GlobalDraft>(f, kGlobalKeys, doc.global, d);
     }},
    {"defaults", Optional,
     [](const Field& f, DocumentDraft& doc, Diagnostics& d) {
       readOptionalMap<DefaultsDraft>(f, kDefaultsKeys, doc.defaults, d);
     }},
    {"frontends", Required, &storeFrontends},
    {"backends", Required, &storeBackends},
}};

}  // namespace

DocumentDraft readDocument(const YAML::Node& root, Diagnostics& diags) {
  DocumentDraft doc;
  readMap<DocumentDraft>(Field{root, "", lineOf(root)}, kDocumentKeys, doc, diags);
  return doc;
}

}  // namespace ringlb::config::detail
