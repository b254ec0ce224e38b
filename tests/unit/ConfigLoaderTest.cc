#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "ringlb/config/Loader.h"
#include "ConfigFixture.h"

namespace ringlb::config {
namespace {

using namespace std::chrono_literals;


// A machine with room for the buffers of every case here (1024 workers x the default 32 MiB is
// 32 GiB), so that no case depends on the machine running it. The memory check has its own
// tests below, each with the machine it needs.

// Names each parameterised case after its `name` field, so failures read as specifications.
struct CaseName {
  template <class Case>
  std::string operator()(const testing::TestParamInfo<Case>& c) const {
    return c.param.name;
  }
};

// ---- valid documents: each loads without errors and resolves to the values checked ------------

struct ValidCase {
  const char* name;
  const char* yaml;  // raw strings start right after R"( so the first YAML line is line 1
  void (*check)(const Config& config);
};

class ValidDocumentTest : public testing::TestWithParam<ValidCase> {};

// The document loads with no errors and its resolved values are the ones the case checks.
TEST_P(ValidDocumentTest, LoadsAndResolves) {
  const LoadResult result = loadString(GetParam().yaml, "<string>", kTestMachine);
  ASSERT_TRUE(result.ok()) << testing::PrintToString(errorStrings(result));
  ASSERT_TRUE(result.config.has_value());
  GetParam().check(*result.config);
}

const ValidCase kValidCases[] = {
    // Only frontends and backends are required; everything else takes its documented default.
    {"MinimalDocumentTakesEveryDefault",
     R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - name: app
    servers: [{ name: a, address: "10.0.0.1:80" }]
)",
     [](const Config& c) {
       EXPECT_EQ(c.source, "<string>");
       EXPECT_EQ(c.global.workers, 0u);
       EXPECT_EQ(c.global.maxConnections, 100000u);
       EXPECT_EQ(c.global.shutdownGrace, 30s);
       EXPECT_EQ(c.global.hashSeed, lb::kDefaultHashSeed);
       EXPECT_EQ(c.defaultRetries, 2u);
       EXPECT_EQ(c.defaultTimeouts.connect, 5s);
       EXPECT_EQ(c.defaultTimeouts.client, 60s);
       EXPECT_EQ(c.defaultTimeouts.server, 60s);
       EXPECT_EQ(c.defaultTimeouts.clientFin, 60s);  // unset fins follow client/server
       EXPECT_EQ(c.defaultTimeouts.serverFin, 60s);
       ASSERT_EQ(c.frontends.size(), 1u);
       const Frontend& fe = c.frontends[0];
       EXPECT_EQ(fe.name, "web");
       ASSERT_EQ(fe.listen.size(), 1u);
       EXPECT_EQ(fe.listen[0].toString(), "0.0.0.0:80");
       EXPECT_EQ(fe.backend, "app");
       EXPECT_EQ(fe.backendIndex, 0u);
       EXPECT_EQ(fe.maxConnections, 0u);
       EXPECT_FALSE(fe.tcpSmartAccept) << "off by default, as in HAProxy's TCP mode";
       EXPECT_FALSE(fe.deferAccept) << "off by default: a server that speaks first would wait";
       EXPECT_EQ(fe.line, 2);
       ASSERT_EQ(c.backends.size(), 1u);
       const Backend& be = c.backends[0];
       EXPECT_EQ(be.relay, RelayMode::Auto);
       EXPECT_EQ(be.balance, lb::Algorithm::Rendezvous);
       EXPECT_EQ(be.hashKey, lb::HashKey::SourceIp);
       EXPECT_EQ(be.retries, 2u);
       EXPECT_EQ(be.timeouts.connect, 5s);
       EXPECT_FALSE(be.tcpSmartConnect) << "off by default until the backend leak it showed is explained";
       EXPECT_EQ(be.line, 4);
       ASSERT_EQ(be.servers.size(), 1u);
       EXPECT_EQ(be.servers[0].name, "a");
       EXPECT_EQ(be.servers[0].address.toString(), "10.0.0.1:80");
       EXPECT_EQ(be.servers[0].weight, 100u);
       EXPECT_EQ(be.servers[0].maxConnections, 0u);
       EXPECT_EQ(be.servers[0].line, 5);
     }},

    // Every global key is read; shutdown_grace may be 0 and hash_seed may be written in hex.
    {"GlobalKeysAreRead",
     R"(global:
  workers: 8
  max_connections: 5000
  shutdown_grace: 0
  hash_seed: 0xDEADbeef00000001
  buffers: 256
  buffer_size: 16384
  standing_receive: false
frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
)",
     [](const Config& c) {
       EXPECT_EQ(c.global.workers, 8u);
       EXPECT_EQ(c.global.maxConnections, 5000u);
       EXPECT_EQ(c.global.shutdownGrace, 0ms);
       EXPECT_EQ(c.global.hashSeed, 0xDEADBEEF00000001ULL);
       EXPECT_EQ(c.global.buffers, 256u);
       EXPECT_EQ(c.global.bufferSize, 16384u);
       EXPECT_FALSE(c.global.standingReceive);
     }},

    // hash_seed also accepts decimal up to 2^64-1; workers accepts its bounds 1 and 1024.
    {"HashSeedDecimalAndWorkerBounds",
     R"(global: { workers: 1024, hash_seed: 18446744073709551615 }
frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
)",
     [](const Config& c) {
       EXPECT_EQ(c.global.workers, 1024u);
       EXPECT_EQ(c.global.hashSeed, UINT64_MAX);
       EXPECT_TRUE(c.global.standingReceive) << "standing receives are on by default";
     }},

    // A frontend takes the defaults and overrides only client/client_fin; a backend takes the
    // defaults and overrides only connect/server/server_fin.
    {"TimeoutsInheritFromDefaultsPerSide",
     R"(defaults:
  timeouts: { connect: 3s, client: 40s, server: 50s, client_fin: 2s, server_fin: 4s }
frontends:
  - name: web
    listen: "0.0.0.0:80"
    backend: app
    timeouts: { client: 30s }
  - name: web2
    listen: "0.0.0.0:81"
    backend: app
    timeouts: { client_fin: 250ms }
backends:
  - name: app
    timeouts: { connect: 1s, server_fin: 100 }
    servers: [{ name: a, address: "10.0.0.1:80" }]
)",
     [](const Config& c) {
       EXPECT_EQ(c.defaultTimeouts.connect, 3s);
       EXPECT_EQ(c.defaultTimeouts.client, 40s);
       EXPECT_EQ(c.defaultTimeouts.server, 50s);
       EXPECT_EQ(c.defaultTimeouts.clientFin, 2s);
       EXPECT_EQ(c.defaultTimeouts.serverFin, 4s);
       const Timeouts& web = c.frontends[0].timeouts;
       EXPECT_EQ(web.client, 30s);
       EXPECT_EQ(web.clientFin, 2s);
       const Timeouts& web2 = c.frontends[1].timeouts;
       EXPECT_EQ(web2.client, 40s);
       EXPECT_EQ(web2.clientFin, 250ms);
       const Timeouts& app = c.backends[0].timeouts;
       EXPECT_EQ(app.connect, 1s);
       EXPECT_EQ(app.server, 50s);
       EXPECT_EQ(app.serverFin, 100ms);
     }},

    // As in HAProxy, a client_fin/server_fin set nowhere equals the client/server timeout in
    // force at the same level, so half-closed sessions are not cut sooner than idle ones.
    {"UnsetFinTimeoutsFollowClientAndServer",
     R"(defaults:
  timeouts: { client: 40s, server: 50s }
frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app, timeouts: { client: 30s } }
backends:
  - name: app
    timeouts: { server: 20s }
    servers: [{ name: a, address: "10.0.0.1:80" }]
)",
     [](const Config& c) {
       EXPECT_EQ(c.defaultTimeouts.clientFin, 40s);
       EXPECT_EQ(c.defaultTimeouts.serverFin, 50s);
       EXPECT_EQ(c.frontends[0].timeouts.clientFin, 30s);
       EXPECT_EQ(c.backends[0].timeouts.serverFin, 20s);
     }},

    // A backend's own retries win; without them it takes defaults.retries (bounds 0 and 16).
    {"RetriesFallBackToDefaults",
     R"(defaults: { retries: 16 }
frontends:
  - { name: web, listen: "0.0.0.0:80", backend: b }
backends:
  - { name: a, retries: 0, servers: [{ name: s, address: "10.0.0.1:80" }] }
  - { name: b, servers: [{ name: s, address: "10.0.0.1:80" }] }
)",
     [](const Config& c) {
       EXPECT_EQ(c.defaultRetries, 16u);
       EXPECT_EQ(c.backends[0].retries, 0u);
       EXPECT_EQ(c.backends[1].retries, 16u);
     }},

    // backendIndex is the position of the named backend in `backends`.
    {"FrontendPointsAtItsBackendByIndex",
     R"(frontends:
  - { name: one, listen: "0.0.0.0:80", backend: second }
  - { name: two, listen: "0.0.0.0:81", backend: first }
backends:
  - { name: first, servers: [{ name: s, address: "10.0.0.1:80" }] }
  - { name: second, servers: [{ name: s, address: "10.0.0.2:80" }] }
)",
     [](const Config& c) {
       EXPECT_EQ(c.frontends[0].backendIndex, 1u);
       EXPECT_EQ(c.frontends[1].backendIndex, 0u);
     }},

    // listen may be a single string or a list; IPv6 is bracketed, for listeners and servers.
    {"ListenAsStringOrListWithIpv6",
     R"(frontends:
  - { name: one, listen: "[::1]:8080", backend: app }
  - { name: two, listen: ["0.0.0.0:80", "[::]:80"], backend: app }
backends:
  - name: app
    servers:
      - { name: v6, address: "[2001:db8::1]:443" }
      - { name: v4, address: 10.0.0.2:443 }
)",
     [](const Config& c) {
       ASSERT_EQ(c.frontends[0].listen.size(), 1u);
       EXPECT_EQ(c.frontends[0].listen[0].toString(), "[::1]:8080");
       ASSERT_EQ(c.frontends[1].listen.size(), 2u);
       EXPECT_EQ(c.frontends[1].listen[0].toString(), "0.0.0.0:80");
       EXPECT_EQ(c.frontends[1].listen[1].toString(), "[::]:80");
       EXPECT_EQ(c.backends[0].servers[0].address.family(), AF_INET6);
       EXPECT_EQ(c.backends[0].servers[0].address.port(), 443);
       EXPECT_EQ(c.backends[0].servers[1].address.toString(), "10.0.0.2:443");
     }},

    // Port 0 (kernel-chosen, used by tests) may repeat: it never collides.
    {"ListenPortZeroMayRepeat",
     R"(frontends:
  - { name: one, listen: ["127.0.0.1:0", "127.0.0.1:0"], backend: app }
  - { name: two, listen: "127.0.0.1:0", backend: app }
backends:
  - { name: app, servers: [{ name: s, address: "127.0.0.1:9000" }] }
)",
     [](const Config& c) {
       EXPECT_EQ(c.frontends[0].listen.size(), 2u);
       EXPECT_EQ(c.frontends[1].listen[0].port(), 0);
     }},

    // The choice keys accept their other spellings; weight and max_connections take their bounds.
    {"BackendChoicesAndServerLimits",
     R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app, max_connections: 18446744073709551615,
      tcp_smart_accept: true, defer_accept: true }
backends:
  - name: app
    relay: splice
    balance: leastconn
    hash_key: source_ip_port
    tcp_smart_connect: true
    servers:
      - { name: drained, address: "10.0.0.1:80", weight: 0, max_connections: 4294967295 }
      - { name: heavy, address: "10.0.0.2:80", weight: 1000 }
  - { name: b2, relay: copy, balance: first, servers: [{ name: s, address: "10.0.0.3:80" }] }
)",
     [](const Config& c) {
       EXPECT_EQ(c.frontends[0].maxConnections, UINT64_MAX);
       EXPECT_TRUE(c.frontends[0].tcpSmartAccept);
       EXPECT_TRUE(c.frontends[0].deferAccept);
       const Backend& app = c.backends[0];
       EXPECT_EQ(app.relay, RelayMode::Splice);
       EXPECT_EQ(app.balance, lb::Algorithm::LeastConn);
       EXPECT_EQ(app.hashKey, lb::HashKey::SourceIpPort);
       EXPECT_TRUE(app.tcpSmartConnect);
       EXPECT_FALSE(c.backends[1].tcpSmartConnect);
       EXPECT_EQ(app.servers[0].weight, 0u);
       EXPECT_EQ(app.servers[0].maxConnections, UINT32_MAX);
       EXPECT_EQ(app.servers[1].weight, 1000u);
       EXPECT_EQ(c.backends[1].relay, RelayMode::Copy);
       EXPECT_EQ(c.backends[1].balance, lb::Algorithm::First);
     }},

    // Empty optional sections (every key commented out) mean "all defaults"; names may use
    // letters, digits, '_', '.', '-'; the same server name may appear in two backends.
    {"EmptySectionsAndNameCharacters",
     R"(global:
  # workers: 4
defaults:
frontends:
  - name: Web_1.v2-x
    listen: "0.0.0.0:80"
    backend: app.A
    timeouts:
backends:
  - { name: app.A, servers: [{ name: s-1, address: "10.0.0.1:80" }] }
  - { name: app.B, servers: [{ name: s-1, address: "10.0.0.1:80" }] }
)",
     [](const Config& c) {
       EXPECT_EQ(c.global.workers, 0u);
       EXPECT_EQ(c.frontends[0].name, "Web_1.v2-x");
       EXPECT_EQ(c.frontends[0].timeouts.client, 60s);
       EXPECT_EQ(c.backends[1].servers[0].name, "s-1");
     }},
};

INSTANTIATE_TEST_SUITE_P(Config, ValidDocumentTest, testing::ValuesIn(kValidCases),
                         CaseName{});

// ---- invalid documents: each yields exactly these errors, in this order ------------------------

struct InvalidCase {
  const char* name;
  const char* yaml;
  std::vector<std::string> errors;
};

class InvalidDocumentTest : public testing::TestWithParam<InvalidCase> {};

// No config is produced and the errors are exactly the expected ones (all of them, with lines).
TEST_P(InvalidDocumentTest, ReportsEveryError) {
  const LoadResult result = loadString(GetParam().yaml, "<string>", kTestMachine);
  EXPECT_FALSE(result.ok());
  EXPECT_FALSE(result.config.has_value());
  EXPECT_EQ(errorStrings(result), GetParam().errors);
}

// The tail most cases share: a valid frontend and backend, so only the case's own errors show.
#define VALID_TAIL                                          \
  "frontends:\n"                                            \
  "  - { name: web, listen: \"0.0.0.0:80\", backend: app }\n" \
  "backends:\n"                                             \
  "  - { name: app, servers: [{ name: a, address: \"10.0.0.1:80\" }] }\n"

const InvalidCase kInvalidCases[] = {
    // An unknown key is reported at every level, each at its own path and line.
    {"UnknownKeysAtEveryLevel",
     R"(globl: {}
global: { wrkers: 2 }
defaults:
  timeout: { connect: 1s }
  timeouts: { conect: 1s }
frontends:
  - name: web
    listen: "0.0.0.0:80"
    backend: app
    port: 80
    timeouts: { clientt: 1s }
backends:
  - name: app
    servers:
      - { name: app1, address: "10.0.0.1:80" }
      - { name: app2, address: "10.0.0.2:80", wieght: 5 }
    balanse: first
)",
     {"globl: unknown key (line 1)", "global.wrkers: unknown key (line 2)",
      "defaults.timeout: unknown key (line 4)", "defaults.timeouts.conect: unknown key (line 5)",
      "frontends[0].port: unknown key (line 10)",
      "frontends[0].timeouts.clientt: unknown key (line 11)",
      "backends[0].servers[1].wieght: unknown key (line 16)",
      "backends[0].balanse: unknown key (line 17)"}},

    // A node of the wrong kind (map, list, scalar, nothing) is named in the error; an empty list
    // item is reported on its list's line (yaml-cpp gives it no line of its own).
    {"WrongNodeTypes",
     R"(global: [workers]
defaults: 3
frontends:
  name: web
backends:
  - name: app
    servers: { name: a, address: "10.0.0.1:80" }
  - name: [b]
    servers:
      - { name: b1, address: { ip: 10.0.0.1 }, weight: [1] }
      - just-a-name
      -
)",
     {"global: expected a map, got a list (line 1)",
      "defaults: expected a map, got \"3\" (line 2)",
      "frontends: expected a list, got a map (line 3)",
      "backends[0].servers: expected a list, got a map (line 7)",
      "backends[1].name: expected a name, got a list (line 8)",
      "backends[1].servers[0].address: expected an address such as \"10.0.0.1:80\", got a map "
      "(line 10)",
      "backends[1].servers[0].weight: expected an integer from 0 to 1000, got a list (line 10)",
      "backends[1].servers[1]: expected a map, got \"just-a-name\" (line 11)",
      "backends[1].servers[2]: expected a map, got nothing (line 9)"}},

    // Integers outside their range, negative, or too large for their type are rejected.
    {"IntegersOutOfRange",
     R"(global:
  workers: 0
  max_connections: 0
  shutdown_grace: -1s
  hash_seed: 0x1ffffffffffffffff
defaults:
  retries: 17
frontends:
  - name: web
    listen: "0.0.0.0:80"
    backend: app
    max_connections: -1
backends:
  - name: app
    servers:
      - { name: a, address: "10.0.0.1:80", weight: 1001, max_connections: 4294967296 }
)",
     {"global.workers: expected \"auto\" or an integer from 1 to 1024, got \"0\" (line 2)",
      "global.max_connections: expected an integer >= 1, got \"0\" (line 3)",
      "global.shutdown_grace: expected a duration such as 250ms, 5s, 2m, 1h or 1d, got \"-1s\" "
      "(line 4)",
      "global.hash_seed: expected an unsigned 64-bit integer (decimal or 0x hex), got "
      "\"0x1ffffffffffffffff\" (line 5)",
      "defaults.retries: expected an integer from 0 to 16, got \"17\" (line 7)",
      "frontends[0].max_connections: expected an integer >= 0, got \"-1\" (line 12)",
      "backends[0].servers[0].weight: expected an integer from 0 to 1000, got \"1001\" (line 16)",
      "backends[0].servers[0].max_connections: expected an integer from 0 to 4294967295, got "
      "\"4294967296\" (line 16)"}},

    // The provided-buffer ring needs a power-of-two count within the kernel's bounds, and
    // buffers of at least 1 KiB and at most 1 MiB.
    {"BufferTuningBounds",
     "global: { buffers: 1000, buffer_size: 512 }\n" VALID_TAIL,
     {"global.buffers: must be a power of two (line 1)",
      "global.buffer_size: expected an integer from 1024 to 1048576, got \"512\" (line 1)"}},
    {"BufferCountRange",
     "global: { buffers: 65536 }\n" VALID_TAIL,
     {"global.buffers: expected an integer from 2 to 32768, got \"65536\" (line 1)"}},
    {"DeferAcceptIsABoolean",
     "frontends:\n"
     "  - { name: web, listen: \"0.0.0.0:80\", backend: app,\n"
     "      defer_accept: 1s }\n"
     "backends:\n"
     "  - { name: app, servers: [{ name: a, address: \"10.0.0.1:80\" }] }\n",
     {"frontends[0].defer_accept: expected true or false, got \"1s\" (line 3)"}},
    {"TcpSmartAcceptIsABoolean",
     "frontends:\n"
     "  - { name: web, listen: \"0.0.0.0:80\", backend: app, tcp_smart_accept: yes please }\n"
     "backends:\n"
     "  - { name: app, servers: [{ name: a, address: \"10.0.0.1:80\" }] }\n",
     {"frontends[0].tcp_smart_accept: expected true or false, got \"yes please\" (line 2)"}},
    {"TcpSmartConnectIsABoolean",
     "frontends:\n"
     "  - { name: web, listen: \"0.0.0.0:80\", backend: app }\n"
     "backends:\n"
     "  - { name: app, tcp_smart_connect: 1, servers: [{ name: a, address: \"10.0.0.1:80\" }] }\n",
     {"backends[0].tcp_smart_connect: expected true or false, got \"1\" (line 4)"}},
    {"StandingReceiveIsABoolean",
     "global: { standing_receive: auto }\n" VALID_TAIL,
     {"global.standing_receive: expected true or false, got \"auto\" (line 1)"}},

    // workers is "auto" or 1..1024, nothing else; integers are decimal only; a trailing "---"
    // (an empty second document) is harmless.
    {"WorkersIsAutoOrOneTo1024",
     "global: { workers: 1025 }\ndefaults: { retries: 0x2 }\n" VALID_TAIL "---\n",
     {"global.workers: expected \"auto\" or an integer from 1 to 1024, got \"1025\" (line 1)",
      "defaults.retries: expected an integer from 0 to 16, got \"0x2\" (line 2)"}},

    // A timeout of 0, junk, a fraction, a list, or beyond ~24.8 days is rejected.
    {"BadTimeouts",
     R"(defaults:
  timeouts:
    connect: 0
    client: 5x
    server: 30d
    client_fin: 1.5s
    server_fin: [1s]
)" VALID_TAIL,
     {"defaults.timeouts.connect: must be greater than 0 (line 3)",
      "defaults.timeouts.client: expected a duration such as 250ms, 5s, 2m, 1h or 1d, got "
      "\"5x\" (line 4)",
      "defaults.timeouts.server: duration \"30d\" is too long (at most 2147483647ms, about 24.8 "
      "days) (line 5)",
      "defaults.timeouts.client_fin: expected a duration such as 250ms, 5s, 2m, 1h or 1d, got "
      "\"1.5s\" (line 6)",
      "defaults.timeouts.server_fin: expected a duration such as 250ms, 5s, 2m, 1h or 1d, got a "
      "list (line 7)"}},

    // Server-side timeouts in a frontend, or client-side ones in a backend, say where they go.
    {"TimeoutKeysOnTheWrongSide",
     R"(frontends:
  - name: web
    listen: "0.0.0.0:80"
    backend: app
    timeouts:
      client: 30s
      connect: 1s
      server_fin: 1s
      server: 30s
backends:
  - name: app
    timeouts: { client: 1s, client_fin: 1s, server: 5s }
    servers:
      - { name: a, address: "10.0.0.1:80" }
)",
     {"frontends[0].timeouts.connect: applies to backends, not frontends (line 7)",
      "frontends[0].timeouts.server_fin: applies to backends, not frontends (line 8)",
      "frontends[0].timeouts.server: applies to backends, not frontends (line 9)",
      "backends[0].timeouts.client: applies to frontends, not backends (line 12)",
      "backends[0].timeouts.client_fin: applies to frontends, not backends (line 12)"}},

    // Addresses without a port, with host names, unbracketed IPv6, bad ports, or (for a server)
    // port 0 are rejected with the parser's reason.
    {"BadAddresses",
     R"(frontends:
  - name: web
    listen: ["0.0.0.0", "web.example:80", "::1:80", "[::1]:70000"]
    backend: app
backends:
  - name: app
    servers:
      - { name: a, address: "10.0.0.1:0" }
      - { name: b, address: "10.0.0.256:80" }
      - { name: c, address: 10.0.0.3:80 }
)",
     {"frontends[0].listen[0]: invalid address \"0.0.0.0\": expected \"ip:port\" or "
      "\"[ipv6]:port\" (line 3)",
      "frontends[0].listen[1]: invalid address \"web.example:80\": \"web.example\" is not an "
      "IPv4 address (host names are not resolved) (line 3)",
      "frontends[0].listen[2]: invalid address \"::1:80\": IPv6 addresses must be bracketed, as "
      "in \"[::1]:80\" (line 3)",
      "frontends[0].listen[3]: invalid address \"[::1]:70000\": \"70000\" is not a port number "
      "(0-65535) (line 3)",
      "backends[0].servers[0].address: invalid address \"10.0.0.1:0\": a server needs a port "
      "from 1 to 65535 (line 8)",
      "backends[0].servers[1].address: invalid address \"10.0.0.256:80\": \"10.0.0.256\" is not "
      "an IPv4 address (host names are not resolved) (line 9)"}},

    // Names repeat within their scope only: frontends, backends, one backend's servers; the
    // error names the first use.
    {"DuplicateNames",
     R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
  - { name: web, listen: "0.0.0.0:81", backend: app }
backends:
  - name: app
    servers:
      - { name: a, address: "10.0.0.1:80" }
      - { name: a, address: "10.0.0.2:80" }
  - name: app
    servers:
      - { name: a, address: "10.0.0.1:80" }
)",
     {"frontends[1].name: duplicate name \"web\": already used by frontends[0] on line 2 "
      "(line 3)",
      "backends[1].name: duplicate name \"app\": already used by backends[0] on line 5 (line 9)",
      "backends[0].servers[1].name: duplicate name \"a\": already used by backends[0].servers[0] "
      "on line 7 (line 8)"}},

    // A frontend naming a backend that does not exist is an error at its `backend` key.
    {"FrontendNamesAMissingBackend",
     R"(global: { workers: 2 }
frontends:
  - name: web
    listen: "0.0.0.0:80"
    backend: apq
backends:
  - name: app
    servers: [{ name: a, address: "10.0.0.1:80" }]
)",
     {"frontends[0].backend: no backend named \"apq\" (line 5)"}},

    // A backend needs at least one server; `servers` is required.
    {"BackendWithoutServers",
     R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - name: app
    servers: []
  - name: other
)",
     {"backends[0].servers: must list at least one server (line 5)",
      "backends[1].servers: required key is missing (line 6)"}},

    // A listen address (non-zero port) used twice anywhere is an error naming the first use;
    // addresses compare by value, so "[0::0]:80" is "[::]:80".
    {"ListenAddressUsedTwice",
     R"(frontends:
  - name: web
    listen: ["0.0.0.0:80", "[::]:80", "127.0.0.1:0"]
    backend: app
  - name: web2
    listen: ["[0::0]:80", "127.0.0.1:0", "0.0.0.0:80"]
    backend: app
  - name: web3
    listen: "0.0.0.0:80"
    backend: app
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
)",
     {"frontends[1].listen[0]: [::]:80 is already used by frontends[0].listen[1] on line 3 "
      "(line 6)",
      "frontends[1].listen[2]: 0.0.0.0:80 is already used by frontends[0].listen[0] on line 3 "
      "(line 6)",
      "frontends[2].listen: 0.0.0.0:80 is already used by frontends[0].listen[0] on line 3 "
      "(line 9)"}},

    // Each missing required key is reported at the path it should have, on its map's line.
    {"MissingRequiredKeys",
     R"(frontends:
  - { listen: "0.0.0.0:80" }
  - name: web
backends:
  - servers:
      - { name: a }
  - name: app
)",
     {"frontends[0].name: required key is missing (line 2)",
      "frontends[0].backend: required key is missing (line 2)",
      "frontends[1].listen: required key is missing (line 3)",
      "frontends[1].backend: required key is missing (line 3)",
      "backends[0].servers[0].address: required key is missing (line 6)",
      "backends[0].name: required key is missing (line 5)",
      "backends[1].servers: required key is missing (line 7)"}},

    // frontends and backends are the two required sections.
    {"MissingSections", "global: { workers: 2 }\n",
     {"frontends: required key is missing (line 1)",
      "backends: required key is missing (line 1)"}},

    // An empty frontends list is rejected: a load balancer with no listener is a mistake.
    {"EmptyFrontendList",
     R"(frontends: []
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
)",
     {"frontends: must list at least one frontend (line 1)"}},

    // An empty listen list or backends list says what it needs; the backend reference into an
    // empty (but well-formed) backends list is still checked.
    {"EmptyListenAndBackends",
     R"(frontends:
  - { name: web, listen: [], backend: app }
backends: []
)",
     {"frontends[0].listen: must list at least one address (line 2)",
      "backends: must list at least one backend (line 3)",
      "frontends[0].backend: no backend named \"app\" (line 2)"}},

    // A name breaking the naming rule is reported once; references to it add no further errors.
    {"InvalidNames",
     R"(frontends:
  - { name: "web site", listen: "0.0.0.0:80", backend: "web site" }
backends:
  - name: "web site"
    servers:
      - { name: "", address: "10.0.0.1:80" }
      - { name: a/b, address: "10.0.0.2:80" }
)",
     {"frontends[0].name: invalid name \"web site\": use only letters, digits, '_', '.' and '-' "
      "(line 2)",
      "backends[0].name: invalid name \"web site\": use only letters, digits, '_', '.' and '-' "
      "(line 4)",
      "backends[0].servers[0].name: must not be empty (line 6)",
      "backends[0].servers[1].name: invalid name \"a/b\": use only letters, digits, '_', '.' and "
      "'-' (line 7)"}},

    // Unknown relay, balance and hash_key values list the accepted spellings.
    {"UnknownChoices",
     R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - name: app
    relay: zerocopy
    balance: rr
    hash_key: ip
    servers: [{ name: a, address: "10.0.0.1:80" }]
)",
     {"backends[0].relay: expected auto, splice or copy, got \"zerocopy\" (line 5)",
      "backends[0].balance: expected rendezvous, roundrobin, leastconn, random or first, got "
      "\"rr\" (line 6)",
      "backends[0].hash_key: expected source_ip or source_ip_port, got \"ip\" (line 7)"}},

    // A key repeated in one map is an error rather than one value silently winning.
    {"DuplicateKey",
     R"(frontends:
  - name: web
    listen: "0.0.0.0:80"
    backend: app
    name: web2
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
backends: []
)",
     {"frontends[0].name: duplicate key: first set on line 2 (line 5)",
      "backends: duplicate key: first set on line 6 (line 8)"}},

    // A key with no value is "nothing", not an empty string.
    {"NullValues",
     R"(frontends:
  - name: web
    listen:
    backend:
backends:
  - { name: app, servers: [{ name: a, address: }] }
)",
     {"frontends[0].listen: expected an address or a list of addresses, got nothing (line 3)",
      "frontends[0].backend: expected a backend name, got nothing (line 4)",
      "backends[0].servers[0].address: expected an address such as \"10.0.0.1:80\", got nothing "
      "(line 6)"}},

    // A YAML merge key is refused with a reason (yaml-cpp would not expand it).
    {"MergeKeysAreRefused",
     R"(frontends:
  - &web { name: web, listen: "0.0.0.0:80", backend: app }
  - { <<: *web, name: web2, listen: "0.0.0.0:81" }
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
)",
     {"frontends[1].<<: YAML merge keys are not supported; write the keys out (line 3)",
      "frontends[1].backend: required key is missing (line 3)"}},

    // An empty document (or only comments) is one error.
    {"EmptyDocument", "", {"empty document"}},
    {"OnlyComments", "# nothing here\n\n", {"empty document"}},

    // The document must be a map.
    {"DocumentIsAList", "- frontends\n- backends\n", {"expected a map, got a list (line 1)"}},

    // A YAML syntax error is one error with the parser's message and line.
    {"YamlSyntaxError",
     R"(frontends:
  - name: web
    listen: ["0.0.0.0:80"
    backend: app
)",
     {"YAML syntax error: end of sequence flow not found (line 4)"}},

    // An unresolved alias is a parse error too, with its line.
    {"UndefinedAlias", "global: { workers: 2 }\nfrontends: *nope\n",
     {"YAML syntax error: the referenced anchor is not defined (line 2)"}},

    // Several YAML documents in one file are refused rather than all but one ignored.
    {"SeveralDocuments", VALID_TAIL "---\n" VALID_TAIL,
     {"expected one YAML document, found another (line 6)"}},

    // A value is quoted with its control characters escaped, never sent raw to a terminal: ESC,
    // newline, NUL, DEL and non-ASCII bytes as escapes, and a backslash doubled so that no value
    // can pass for an escape.
    {"ControlCharactersInValuesAreEscaped",
     R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - name: app
    relay: "\e[2J\nx\0\x7f\\\xe9"
    servers: [{ name: a, address: "10.0.0.1:80" }]
)",
     {"backends[0].relay: expected auto, splice or copy, got "
      "\"\\x1b[2J\\nx\\x00\\x7f\\\\\\xc3\\xa9\" (line 5)"}},

    // An unknown key is user-written text too: escaped in the path that names it.
    {"ControlCharactersInKeysAreEscaped",
     "global: { \"\\e]0;title\\a\": 1 }\n" VALID_TAIL,
     {"global.\\x1b]0;title\\x07: unknown key (line 1)"}},

    // The address parser's reason repeats the rejected part of the value: escaped as well.
    {"ControlCharactersInAddressesAreEscaped",
     R"(frontends:
  - { name: web, listen: "\e[31m:80", backend: app }
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
)",
     {"frontends[0].listen: invalid address \"\\x1b[31m:80\": \"\\x1b[31m\" is not an IPv4 "
      "address (host names are not resolved) (line 2)"}},
};

#undef VALID_TAIL

INSTANTIATE_TEST_SUITE_P(Config, InvalidDocumentTest, testing::ValuesIn(kInvalidCases),
                         CaseName{});

// ---- huge values in messages --------------------------------------------------------------------

// The frontend and backend every document below shares; a line each.
constexpr std::string_view kFrontends =
    "frontends:\n"
    "  - { name: web, listen: \"0.0.0.0:80\", backend: app }\n";

// A huge value is quoted by its first 64 bytes and its total length: the message stays one short
// line that still names the path and the line. (2 MiB rather than 20: the cut does not depend on
// the size, and yaml-cpp takes a third of a second per MiB to read the document.)
TEST(ConfigMessageTest, HugeValueIsQuotedByItsStartAndLength) {
  const std::string huge(2 * 1024 * 1024, 'x');
  const std::string yaml = std::string(kFrontends) +
                           "backends:\n"
                           "  - name: app\n"
                           "    relay: " + huge + "\n"
                           "    servers: [{ name: a, address: \"10.0.0.1:80\" }]\n";
  const LoadResult result = loadString(yaml, "<string>", kTestMachine);
  EXPECT_EQ(errorStrings(result),
            std::vector<std::string>{"backends[0].relay: expected auto, splice or copy, got \"" +
                                     std::string(64, 'x') + "...\" (2097152 bytes) (line 5)"});
}

// Wherever a huge value lands (a key, a duration, a name, an address, a reference, a number),
// its message stays short and keeps its path and line.
TEST(ConfigMessageTest, EveryMessageAboutAHugeValueStaysShort) {
  const std::string huge(256 * 1024, 'y');
  // A key longer than 1024 characters must be written as an explicit key ("? key") in YAML.
  const std::string yaml = "global:\n"
                           "  ? " + huge + "\n"
                           "  : 1\n"
                           "  shutdown_grace: 1" + huge + "\n"
                           "frontends:\n"
                           "  - name: " + huge + "/\n"
                           "    listen: \"" + huge + ":80\"\n"
                           "    backend: " + huge + "\n"
                           "backends:\n"
                           "  - name: app\n"
                           "    servers: [{ name: a, address: \"10.0.0.1:80\", weight: 1" +
                           huge + " }]\n";
  const LoadResult result = loadString(yaml, "<string>", kTestMachine);
  const std::vector<std::string> errors = errorStrings(result);
  EXPECT_EQ(errors.size(), 6u) << testing::PrintToString(errors);
  for (const std::string& error : errors) {
    EXPECT_LT(error.size(), 400u) << error.substr(0, 400);
    EXPECT_NE(error.find("(line "), std::string::npos) << error.substr(0, 400);
    EXPECT_NE(error.find(" bytes)"), std::string::npos) << error.substr(0, 400);  // was cut
  }
}

// ---- memory for the receive buffers -------------------------------------------------------------

// A machine with 8 GiB of memory and 2 CPUs.
constexpr Machine kSmallMachine{uint64_t{8} << 30, 2};

std::string withGlobal(std::string_view global) {
  return "global:\n" + std::string(global) + std::string(kFrontends) +
         "backends:\n"
         "  - { name: app, servers: [{ name: a, address: \"10.0.0.1:80\" }] }\n";
}

// Buffers the machine cannot back (per worker, times the workers) are an error at load, and so
// at --check rather than at start; it names the keys, the line and the numbers.
TEST(BufferMemoryTest, MoreThanPhysicalMemoryIsRejected) {
  const LoadResult result = loadString(withGlobal("  workers: 2\n"
                                                  "  buffers: 32768\n"
                                                  "  buffer_size: 1048576\n"),
                                       "<string>", kSmallMachine);
  EXPECT_EQ(errorStrings(result),
            std::vector<std::string>{
                "global.buffers: 32768 buffers x 1048576 bytes (buffer_size) x 2 workers = "
                "68719476736 bytes (64.0 GiB) of receive buffers, more than the 8589934592 bytes "
                "(8.0 GiB) of physical memory; lower global.buffers or global.buffer_size "
                "(line 3)"});
}

// `workers: auto` (also the default) starts one worker per CPU available, so that is what the
// buffers are multiplied by.
TEST(BufferMemoryTest, AutoWorkersCountTheCpusAvailable) {
  const std::string yaml = withGlobal("  buffer_size: 1048576\n  buffers: 4096\n");  // 4 GiB
  EXPECT_TRUE(loadString(yaml, "<string>", Machine{uint64_t{8} << 30, 2}).ok());
  EXPECT_EQ(errorStrings(loadString(yaml, "<string>", Machine{uint64_t{8} << 30, 3})),
            std::vector<std::string>{
                "global.buffers: 4096 buffers x 1048576 bytes (buffer_size) x 3 workers (auto: "
                "the CPUs available) = 12884901888 bytes (12.0 GiB) of receive buffers, more than "
                "the 8589934592 bytes (8.0 GiB) of physical memory; lower global.buffers or "
                "global.buffer_size (line 3)"});
}

// Exactly the physical memory is accepted: the check rejects what cannot work, it is no sizing
// guide.
TEST(BufferMemoryTest, ExactlyPhysicalMemoryIsAccepted) {
  const LoadResult result = loadString(withGlobal("  workers: 2\n"
                                                  "  buffers: 4096\n"
                                                  "  buffer_size: 1048576\n"),
                                       "<string>", kSmallMachine);
  EXPECT_TRUE(result.ok()) << testing::PrintToString(errorStrings(result));
}

// Without buffers set, the error goes to the key that was: buffer_size, else workers.
TEST(BufferMemoryTest, ReportedAtTheSizingKeyThatWasSet) {
  EXPECT_EQ(errorStrings(loadString(withGlobal("  buffer_size: 1048576\n  workers: 9\n"),
                                    "<string>", kSmallMachine)),
            std::vector<std::string>{
                "global.buffer_size: 1024 buffers x 1048576 bytes (buffer_size) x 9 workers = "
                "9663676416 bytes (9.0 GiB) of receive buffers, more than the 8589934592 bytes "
                "(8.0 GiB) of physical memory; lower global.buffers or global.buffer_size "
                "(line 2)"});
  // The default 32 MiB per worker, on a 1 GiB machine.
  EXPECT_EQ(errorStrings(loadString(withGlobal("  workers: 33\n"), "<string>",
                                    Machine{uint64_t{1} << 30, 2})),
            std::vector<std::string>{
                "global.workers: 1024 buffers x 32768 bytes (buffer_size) x 33 workers = "
                "1107296256 bytes (1.0 GiB) of receive buffers, more than the 1073741824 bytes "
                "(1.0 GiB) of physical memory; lower global.buffers or global.buffer_size "
                "(line 2)"});
}

// A sizing key that fails to read is reported once; the memory check does not add to it.
TEST(BufferMemoryTest, NoMemoryErrorOnTopOfAnUnreadSizingKey) {
  EXPECT_EQ(errorStrings(loadString(withGlobal("  workers: 2\n"
                                               "  buffers: 32768\n"
                                               "  buffer_size: 2097152\n"),
                                    "<string>", Machine{uint64_t{1} << 30, 2})),
            std::vector<std::string>{"global.buffer_size: expected an integer from 1024 to "
                                     "1048576, got \"2097152\" (line 4)"});
}

// When the machine's memory is unknown (sysconf failed), nothing is rejected for it.
TEST(BufferMemoryTest, UnknownMemorySkipsTheCheck) {
  EXPECT_TRUE(loadString(withGlobal("  buffers: 32768\n  buffer_size: 1048576\n"), "<string>",
                         Machine{0, 1024})
                  .ok());
}

// The defaults (1024 buffers of 32 KiB per worker, one worker per CPU) pass on this machine.
TEST(BufferMemoryTest, DefaultsFitThisMachine) {
  const LoadResult result = loadString(withGlobal(""));
  EXPECT_TRUE(result.ok()) << testing::PrintToString(errorStrings(result));
}

// ---- files -------------------------------------------------------------------------------------

// loadFile reads a file and records where it came from.
TEST(ConfigFileTest, LoadsAFileAndRecordsItsPath) {
  const std::string path = RINGLB_TEST_DATA "/config/minimal.yaml";
  const LoadResult result = loadFile(path);
  ASSERT_TRUE(result.ok()) << testing::PrintToString(errorStrings(result));
  EXPECT_EQ(result.config->source, path);
  EXPECT_EQ(result.config->frontends.at(0).line, 3);
}

// The shipped reference config covers every key and loads without errors.
TEST(ConfigFileTest, ReferenceConfigLoads) {
  const std::string path = RINGLB_TEST_DATA "/../../conf/ringlb.yaml";
  const LoadResult result = loadFile(path);
  ASSERT_TRUE(result.ok()) << testing::PrintToString(errorStrings(result));
  EXPECT_EQ(result.config->source, path);
  EXPECT_EQ(result.config->frontends.size(), 2u);
  EXPECT_EQ(result.config->backends[0].servers.size(), 3u);
  // The keys of issue 9 are in it too.
  EXPECT_EQ(result.config->backends[0].healthCheck.type, CheckType::Http);
  EXPECT_EQ(result.config->backends[0].healthCheck.http.path, "/healthz");
  EXPECT_TRUE(result.config->backends[0].servers[2].backup);
  EXPECT_EQ(result.config->backends[0].servers[1].slowStart, 10s);
  EXPECT_EQ(result.config->admin.socket, "/run/ringlb/admin.sock");
}

// The demo config loads: one worker (so round robin alternates visibly), one frontend on
// 127.0.0.1:8080 to two local servers.
TEST(ConfigFileTest, DemoConfigLoads) {
  const LoadResult result = loadFile(RINGLB_TEST_DATA "/../../conf/demo.yaml");
  ASSERT_TRUE(result.ok()) << testing::PrintToString(errorStrings(result));
  const Config& c = *result.config;
  EXPECT_EQ(c.global.workers, 1u);
  ASSERT_EQ(c.frontends.size(), 1u);
  EXPECT_EQ(c.frontends[0].name, "demo");
  EXPECT_EQ(c.frontends[0].listen.at(0).toString(), "127.0.0.1:8080");
  ASSERT_EQ(c.backends.size(), 1u);
  EXPECT_EQ(c.backends[0].name, "demo");
  ASSERT_EQ(c.backends[0].servers.size(), 2u);
  EXPECT_EQ(c.backends[0].servers[0].address.toString(), "127.0.0.1:9001");
  EXPECT_EQ(c.backends[0].servers[1].address.toString(), "127.0.0.1:9002");
}

// A missing file is one error carrying the OS reason, not an exception.
TEST(ConfigFileTest, MissingFileReportsTheOsReason) {
  const LoadResult result = loadFile("/nonexistent/ringlb.yaml");
  EXPECT_FALSE(result.config.has_value());
  EXPECT_EQ(errorStrings(result),
            std::vector<std::string>{
                "cannot read \"/nonexistent/ringlb.yaml\": No such file or directory"});
}

// A directory is not a config file: the read error is reported, not an exception.
TEST(ConfigFileTest, DirectoryReportsTheOsReason) {
  const LoadResult result = loadFile(RINGLB_TEST_DATA);
  EXPECT_EQ(errorStrings(result),
            std::vector<std::string>{"cannot read \"" RINGLB_TEST_DATA "\": Is a directory"});
}

// ---- warnings: valid settings that do nothing as written ------------------------------------------

std::vector<std::string> warningStrings(const LoadResult& result) {
  std::vector<std::string> out;
  for (const ConfigError& w : result.warnings) out.push_back(w.toString());
  return out;
}

// tcp_smart_connect holds the ACK only for frontends with defer_accept: each frontend sending the
// backend connections without it gets a warning at the backend, naming the frontend and its line.
TEST(ConfigWarningTest, SmartConnectWithoutDeferAcceptIsNamedPerFrontend) {
  const LoadResult result = loadString(R"(frontends:
  - { name: web, listen: "127.0.0.1:80", backend: app }
  - { name: tls, listen: "127.0.0.1:443", backend: app, defer_accept: true }
  - { name: other, listen: "127.0.0.1:8080", backend: plain }
backends:
  - { name: plain, servers: [{ name: s, address: "10.0.0.1:80" }] }
  - name: app
    tcp_smart_connect: true
    servers: [{ name: s, address: "10.0.0.1:80" }]
)", "<string>", kTestMachine);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(warningStrings(result),
            std::vector<std::string>{
                "backends[1].tcp_smart_connect: no effect on connections from frontend 'web' (line "
                "2), which does not set defer_accept: the ACK is held only where the client's "
                "request is known to be waiting (line 7)"});
}

// Every frontend of the backend defers accept, or the option is off: nothing to say.
TEST(ConfigWarningTest, NoWarningWhereSmartConnectApplies) {
  const LoadResult withDefer = loadString(R"(frontends:
  - { name: web, listen: "127.0.0.1:80", backend: app, defer_accept: true }
backends:
  - { name: app, tcp_smart_connect: true, servers: [{ name: s, address: "10.0.0.1:80" }] }
)", "<string>", kTestMachine);
  ASSERT_TRUE(withDefer.ok());
  EXPECT_TRUE(withDefer.warnings.empty()) << warningStrings(withDefer)[0];
  const LoadResult off = loadString(R"(frontends:
  - { name: web, listen: "127.0.0.1:80", backend: app }
backends:
  - { name: app, servers: [{ name: s, address: "10.0.0.1:80" }] }
)", "<string>", kTestMachine);
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off.warnings.empty());
}

// ---- error format -------------------------------------------------------------------------------

// toString() is "path: message (line N)"; the path and the line part are left out when unknown.
TEST(ConfigErrorTest, FormatsPathMessageAndLine) {
  EXPECT_EQ((ConfigError{"backends[0].servers[1].wieght", "unknown key", 14}).toString(),
            "backends[0].servers[1].wieght: unknown key (line 14)");
  EXPECT_EQ((ConfigError{"", "empty document", 0}).toString(), "empty document");
  EXPECT_EQ((ConfigError{"global", "expected a map", 0}).toString(), "global: expected a map");
}

}  // namespace
}  // namespace ringlb::config
