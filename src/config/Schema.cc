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
constexpr uint32_t kMaxRiseFall = 1000;
constexpr uint32_t kMaxConsecutiveFailures = 1000;

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

constexpr std::array<Key<GlobalDraft>, 7> kGlobalKeys{{
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
    {"standing_receive", Optional,
     [](const Field& f, GlobalDraft& g, Diagnostics& d) {
       if (auto v = readBool(f, d)) g.value.standingReceive = *v;
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

constexpr std::array<Key<FrontendDraft>, 7> kFrontendKeys{{
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
    {"tcp_smart_accept", Optional,
     [](const Field& f, FrontendDraft& fe, Diagnostics& d) {
       if (auto v = readBool(f, d)) fe.value.tcpSmartAccept = *v;
     }},
    {"defer_accept", Optional,
     [](const Field& f, FrontendDraft& fe, Diagnostics& d) {
       if (auto v = readBool(f, d)) fe.value.deferAccept = *v;
     }},
}};

// ---- backends and their servers ------------------------------------------------------------------

constexpr std::array<Key<ServerDraft>, 7> kServerKeys{{
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
    {"state", Optional,
     [](const Field& f, ServerDraft& s, Diagnostics& d) {
       if (auto v = readAdminState(f, d)) s.value.state = *v;
     }},
    {"backup", Optional,
     [](const Field& f, ServerDraft& s, Diagnostics& d) {
       if (auto v = readBool(f, d)) s.value.backup = *v;
     }},
    {"slow_start", Optional,
     [](const Field& f, ServerDraft& s, Diagnostics& d) {
       if (auto v = readDuration(f, ZeroDuration::Allowed, d)) s.slowStart = *v;
     }},
}};

// ---- health checks -------------------------------------------------------------------------------

constexpr std::array<Key<HttpCheck>, 4> kHttpCheckKeys{{
    {"method", Optional,
     [](const Field& f, HttpCheck& h, Diagnostics& d) {
       if (auto v = readHttpMethod(f, d)) h.method = std::move(*v);
     }},
    {"path", Optional,
     [](const Field& f, HttpCheck& h, Diagnostics& d) {
       if (auto v = readHttpPath(f, d)) h.path = std::move(*v);
     }},
    {"host", Optional,
     [](const Field& f, HttpCheck& h, Diagnostics& d) {
       if (auto v = readHttpHost(f, d)) h.host = std::move(*v);
     }},
    {"expect_status", Optional,
     [](const Field& f, HttpCheck& h, Diagnostics& d) {
       if (auto v = readStatusRanges(f, d)) h.expectStatus = std::move(*v);
     }},
}};

// interval and timeout: where each was written, for the check that relates them (Resolve.cc).
void storeCheckTiming(const Field& field, Duration& out, int& line, HealthCheckDraft& hc,
                      Diagnostics& diags) {
  if (auto value = readDuration(field, ZeroDuration::Rejected, diags)) {
    out = *value;
    line = field.line;
  } else {
    hc.timingUnread = true;
  }
}

uint32_t riseFall(uint64_t value) { return static_cast<uint32_t>(value); }

// `type` is required in a written map: checks configured without saying which kind (or that
// they are off) are more likely a mistake than a wish for the default.
constexpr std::array<Key<HealthCheckDraft>, 10> kHealthCheckKeys{{
    {"type", Required,
     [](const Field& f, HealthCheckDraft& hc, Diagnostics& d) {
       if (auto v = readCheckType(f, d)) {
         hc.value.type = *v;
         hc.typeLine = f.line;
       }
     }},
    {"interval", Optional,
     [](const Field& f, HealthCheckDraft& hc, Diagnostics& d) {
       storeCheckTiming(f, hc.value.interval, hc.intervalLine, hc, d);
     }},
    {"timeout", Optional,
     [](const Field& f, HealthCheckDraft& hc, Diagnostics& d) {
       storeCheckTiming(f, hc.value.timeout, hc.timeoutLine, hc, d);
     }},
    {"rise", Optional,
     [](const Field& f, HealthCheckDraft& hc, Diagnostics& d) {
       if (auto v = readUnsigned(f, 1, kMaxRiseFall, d)) hc.value.rise = riseFall(*v);
     }},
    {"fall", Optional,
     [](const Field& f, HealthCheckDraft& hc, Diagnostics& d) {
       if (auto v = readUnsigned(f, 1, kMaxRiseFall, d)) hc.value.fall = riseFall(*v);
     }},
    {"fast_interval", Optional,
     [](const Field& f, HealthCheckDraft& hc, Diagnostics& d) {
       if (auto v = readDuration(f, ZeroDuration::Rejected, d)) hc.fastInterval = *v;
     }},
    {"down_interval", Optional,
     [](const Field& f, HealthCheckDraft& hc, Diagnostics& d) {
       if (auto v = readDuration(f, ZeroDuration::Rejected, d)) hc.downInterval = *v;
     }},
    {"http", Optional,
     [](const Field& f, HealthCheckDraft& hc, Diagnostics& d) {
       // Recorded even if the map fails to read: given with another type, it is an error anyway.
       hc.httpLine = f.line;
       readOptionalMap<HttpCheck>(f, kHttpCheckKeys, hc.value.http, d);
     }},
    {"port", Optional,
     [](const Field& f, HealthCheckDraft& hc, Diagnostics& d) {
       if (auto v = readUnsigned(f, 1, 65535, d)) hc.value.port = static_cast<uint16_t>(*v);
     }},
    {"initial", Optional,
     [](const Field& f, HealthCheckDraft& hc, Diagnostics& d) {
       if (auto v = readInitialUp(f, d)) hc.value.initialUp = *v;
     }},
}};

void storeHealthCheck(const Field& field, BackendDraft& be, Diagnostics& diags) {
  be.healthCheck.path = field.path;
  readOptionalMap<HealthCheckDraft>(field, kHealthCheckKeys, be.healthCheck, diags);
}

constexpr std::array<Key<PassiveCheck>, 1> kPassiveKeys{{
    {"consecutive_failures", Optional,
     [](const Field& f, PassiveCheck& p, Diagnostics& d) {
       if (auto v = readUnsigned(f, 0, kMaxConsecutiveFailures, d)) {
         p.consecutiveFailures = static_cast<uint32_t>(*v);
       }
     }},
}};

// `passive` is a map, or `off` (the same as consecutive_failures: 0).
void storePassive(const Field& field, BackendDraft& be, Diagnostics& diags) {
  if (field.node.IsMap() || field.node.IsNull()) {
    readOptionalMap<PassiveCheck>(field, kPassiveKeys, be.value.passive, diags);
  } else if (field.node.IsScalar() && field.node.Scalar() == "off") {
    be.value.passive.consecutiveFailures = 0;
  } else {
    diags.error(field.path,
                "expected a map such as { consecutive_failures: 5 } or off, got " +
                    describe(field.node),
                field.line);
  }
}

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
  be.serversPath = field.path;
  be.serversLine = field.line;
  storeList<ServerDraft>(field, kServerKeys, be.servers, "server", diags);
}

constexpr std::array<Key<BackendDraft>, 12> kBackendKeys{{
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
    {"health_check", Optional, &storeHealthCheck},
    {"passive", Optional, &storePassive},
    {"on_marked_down", Optional,
     [](const Field& f, BackendDraft& be, Diagnostics& d) {
       if (auto v = readOnMarkedDown(f, d)) be.value.onMarkedDown = *v;
     }},
    {"slow_start", Optional,
     [](const Field& f, BackendDraft& be, Diagnostics& d) {
       if (auto v = readDuration(f, ZeroDuration::Allowed, d)) be.value.slowStart = *v;
     }},
    {"tcp_smart_connect", Optional,
     [](const Field& f, BackendDraft& be, Diagnostics& d) {
       if (auto v = readBool(f, d)) be.value.tcpSmartConnect = *v;
     }},
}};

// ---- the document --------------------------------------------------------------------------------

void storeFrontends(const Field& field, DocumentDraft& doc, Diagnostics& diags) {
  storeList<FrontendDraft>(field, kFrontendKeys, doc.frontends, "frontend", diags);
}

void storeBackends(const Field& field, DocumentDraft& doc, Diagnostics& diags) {
  doc.backendsListed = storeList<BackendDraft>(field, kBackendKeys, doc.backends, "backend", diags);
}

constexpr std::array<Key<Admin>, 2> kAdminKeys{{
    {"socket", Optional,
     [](const Field& f, Admin& a, Diagnostics& d) {
       if (auto v = readSocketPath(f, d)) a.socket = std::move(*v);
     }},
    {"mode", Optional,
     [](const Field& f, Admin& a, Diagnostics& d) {
       if (auto v = readFileMode(f, d)) a.mode = *v;
     }},
}};

constexpr std::array<Key<MetricsDraft>, 2> kMetricsKeys{{
    {"listen", Optional,
     [](const Field& f, MetricsDraft& m, Diagnostics& d) {
       // Port 0 is allowed as for frontends: the kernel picks one (tests rely on it).
       if (auto v = readAddress(f, AddressUse::Listen, d)) {
         m.value.listen = *v;
         m.listenPath = f.path;
         m.listenLine = f.line;
       }
     }},
    {"compat", Optional,
     [](const Field& f, MetricsDraft& m, Diagnostics& d) {
       if (auto v = readMetricsCompat(f, d)) m.value.compat = *v;
     }},
}};

constexpr std::array<Key<AccessLog>, 2> kAccessLogKeys{{
    {"path", Optional,
     [](const Field& f, AccessLog& a, Diagnostics& d) {
       if (auto v = readAccessLogPath(f, d)) a.path = std::move(*v);
     }},
    {"format", Optional,
     [](const Field& f, AccessLog& a, Diagnostics& d) {
       if (auto v = readAccessLogFormat(f, d)) a.format = *v;
     }},
}};

constexpr std::array<Key<DocumentDraft>, 7> kDocumentKeys{{
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
    {"admin", Optional,
     [](const Field& f, DocumentDraft& doc, Diagnostics& d) {
       readOptionalMap<Admin>(f, kAdminKeys, doc.admin, d);
     }},
    {"metrics", Optional,
     [](const Field& f, DocumentDraft& doc, Diagnostics& d) {
       readOptionalMap<MetricsDraft>(f, kMetricsKeys, doc.metrics, d);
     }},
    {"access_log", Optional,
     [](const Field& f, DocumentDraft& doc, Diagnostics& d) {
       readOptionalMap<AccessLog>(f, kAccessLogKeys, doc.accessLog, d);
     }},
}};

}  // namespace

DocumentDraft readDocument(const YAML::Node& root, Diagnostics& diags) {
  DocumentDraft doc;
  readMap<DocumentDraft>(Field{root, "", lineOf(root)}, kDocumentKeys, doc, diags);
  return doc;
}

}  // namespace ringlb::config::detail
