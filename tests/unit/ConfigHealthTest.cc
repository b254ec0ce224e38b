// The configuration keys of issue 9: health checks, passive checks, server states, backup
// servers, slow start and the admin socket. The loader only reads, validates and defaults them;
// these tests pin what a loaded Config carries and every error the keys can produce.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "ringlb/config/Loader.h"
#include "ConfigFixture.h"

namespace ringlb::config {

// Outside the unnamed namespace so that argument-dependent lookup finds them for StatusRange
// (std::vector's == and gtest's printer look there, not in using-directives).
bool operator==(const StatusRange& a, const StatusRange& b) {
  return a.low == b.low && a.high == b.high;
}
void PrintTo(const StatusRange& r, std::ostream* os) { *os << r.low << "-" << r.high; }

namespace {

using namespace std::chrono_literals;


// Plenty of memory, so that the buffer check never decides a case here.

struct CaseName {
  template <class Case>
  std::string operator()(const testing::TestParamInfo<Case>& c) const {
    return c.param.name;
  }
};

Config loadValid(std::string_view yaml) {
  LoadResult result = loadString(yaml, "<string>", kTestMachine);
  EXPECT_TRUE(result.ok()) << testing::PrintToString(errorStrings(result));
  return result.config ? std::move(*result.config) : Config{};
}

// ---- valid documents ----------------------------------------------------------------------------

// The example of docs/configuration.md, every key set: each lands in its field.
TEST(ConfigHealthTest, FullExampleParsesIntoEveryField) {
  const Config c = loadValid(R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - name: app
    health_check:
      type: http
      interval: 2s
      timeout: 1s
      rise: 4
      fall: 5
      fast_interval: 500ms
      down_interval: 5s
      http: { method: HEAD, path: /healthz, host: example.internal, expect_status: "200-299,302" }
      port: 8081
      initial: up
    passive: { consecutive_failures: 7 }
    on_marked_down: shutdown
    slow_start: 30s
    servers:
      - { name: s1, address: "127.0.0.1:8080", state: active, backup: false, slow_start: 10s }
      - { name: s2, address: "127.0.0.1:8081", state: draining, backup: true }
      - { name: s3, address: "127.0.0.1:8082", state: maintenance }
admin: { socket: /run/ringlb/admin.sock, mode: "0660" }
)");
  ASSERT_EQ(c.backends.size(), 1u);
  const Backend& be = c.backends[0];
  const HealthCheck& hc = be.healthCheck;
  EXPECT_EQ(hc.type, CheckType::Http);
  EXPECT_EQ(hc.interval, 2s);
  EXPECT_EQ(hc.timeout, 1s);
  EXPECT_EQ(hc.rise, 4u);
  EXPECT_EQ(hc.fall, 5u);
  EXPECT_EQ(hc.fastInterval, 500ms);
  EXPECT_EQ(hc.downInterval, 5s);
  EXPECT_EQ(hc.http.method, "HEAD");
  EXPECT_EQ(hc.http.path, "/healthz");
  EXPECT_EQ(hc.http.host, "example.internal");
  EXPECT_EQ(hc.http.expectStatus, (std::vector<StatusRange>{{200, 299}, {302, 302}}));
  EXPECT_EQ(hc.port, 8081);
  EXPECT_TRUE(hc.initialUp);
  EXPECT_EQ(be.passive.consecutiveFailures, 7u);
  EXPECT_EQ(be.onMarkedDown, OnMarkedDown::Shutdown);
  EXPECT_EQ(be.slowStart, 30s);
  ASSERT_EQ(be.servers.size(), 3u);
  EXPECT_EQ(be.servers[0].state, AdminState::Active);
  EXPECT_FALSE(be.servers[0].backup);
  EXPECT_EQ(be.servers[0].slowStart, 10s);
  EXPECT_EQ(be.servers[1].state, AdminState::Draining);
  EXPECT_TRUE(be.servers[1].backup);
  EXPECT_EQ(be.servers[1].slowStart, 30s);  // the backend's
  EXPECT_EQ(be.servers[2].state, AdminState::Maintenance);
  EXPECT_FALSE(be.servers[2].backup);
  EXPECT_EQ(c.admin.socket, "/run/ringlb/admin.sock");
  EXPECT_EQ(c.admin.mode, 0660u);
}

// Without any of the new keys: no active checks, passive checks after 5 failures, sessions kept,
// no slow start, servers active and not backups, no admin socket; the check values still carry
// their documented defaults, with fast/down intervals resolved to the interval.
TEST(ConfigHealthTest, DefaultsWhenNoKeyIsWritten) {
  const Config c = loadValid(R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
)");
  const Backend& be = c.backends.at(0);
  const HealthCheck& hc = be.healthCheck;
  EXPECT_EQ(hc.type, CheckType::None);
  EXPECT_EQ(hc.interval, 2s);
  EXPECT_EQ(hc.timeout, 1s);
  EXPECT_EQ(hc.rise, 2u);
  EXPECT_EQ(hc.fall, 3u);
  EXPECT_EQ(hc.fastInterval, 2s);
  EXPECT_EQ(hc.downInterval, 2s);
  EXPECT_EQ(hc.http.method, "GET");
  EXPECT_EQ(hc.http.path, "/");
  EXPECT_EQ(hc.http.host, "");
  EXPECT_EQ(hc.http.expectStatus, (std::vector<StatusRange>{{200, 399}}));
  EXPECT_EQ(hc.port, 0);
  EXPECT_FALSE(hc.initialUp);
  EXPECT_EQ(be.passive.consecutiveFailures, 5u);
  EXPECT_EQ(be.onMarkedDown, OnMarkedDown::Keep);
  EXPECT_EQ(be.slowStart, 0ms);
  const Server& s = be.servers.at(0);
  EXPECT_EQ(s.state, AdminState::Active);
  EXPECT_FALSE(s.backup);
  EXPECT_EQ(s.slowStart, 0ms);
  EXPECT_EQ(c.admin.socket, "");
  EXPECT_EQ(c.admin.mode, 0600u);
}

// fast_interval and down_interval left out take the backend's own interval, not the default 2s;
// `type: http` without an `http:` map checks GET / for 200-399; an empty `health_check:` is "all
// defaults" (type none), like every other empty section.
TEST(ConfigHealthTest, UnsetIntervalsFollowIntervalAndHttpDefaults) {
  const Config c = loadValid(R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: a }
backends:
  - name: a
    health_check: { type: tcp, interval: 5s, timeout: 5s }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: b
    health_check: { type: http, interval: 10s, fast_interval: 1s }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: c
    health_check:
    servers: [{ name: s, address: "10.0.0.1:80" }]
)");
  ASSERT_EQ(c.backends.size(), 3u);
  const HealthCheck& a = c.backends[0].healthCheck;
  EXPECT_EQ(a.type, CheckType::Tcp);
  EXPECT_EQ(a.timeout, 5s);  // equal to interval is allowed
  EXPECT_EQ(a.fastInterval, 5s);
  EXPECT_EQ(a.downInterval, 5s);
  EXPECT_FALSE(a.initialUp);
  const HealthCheck& b = c.backends[1].healthCheck;
  EXPECT_EQ(b.type, CheckType::Http);
  EXPECT_EQ(b.fastInterval, 1s);
  EXPECT_EQ(b.downInterval, 10s);
  EXPECT_EQ(b.http.method, "GET");
  EXPECT_EQ(b.http.path, "/");
  EXPECT_EQ(b.http.expectStatus, (std::vector<StatusRange>{{200, 399}}));
  EXPECT_EQ(c.backends[2].healthCheck.type, CheckType::None);
  EXPECT_EQ(c.backends[2].healthCheck.fastInterval, 2s);
}

// A server's slow_start wins over its backend's, including an explicit 0 (off); a server without
// one takes the backend's.
TEST(ConfigHealthTest, ServerSlowStartOverridesTheBackends) {
  const Config c = loadValid(R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - name: app
    slow_start: 30s
    servers:
      - { name: inherits, address: "10.0.0.1:80" }
      - { name: off, address: "10.0.0.2:80", slow_start: 0 }
      - { name: own, address: "10.0.0.3:80", slow_start: 1m }
  - name: other
    servers: [{ name: own, address: "10.0.0.3:80", slow_start: 2500 }]
)");
  const Backend& app = c.backends.at(0);
  EXPECT_EQ(app.slowStart, 30s);
  EXPECT_EQ(app.servers.at(0).slowStart, 30s);
  EXPECT_EQ(app.servers.at(1).slowStart, 0ms);
  EXPECT_EQ(app.servers.at(2).slowStart, 1min);
  EXPECT_EQ(c.backends.at(1).slowStart, 0ms);
  EXPECT_EQ(c.backends.at(1).servers.at(0).slowStart, 2500ms);
}

// Bounds are inclusive: rise and fall 1 and 1000, port 65535, consecutive_failures 1000.
TEST(ConfigHealthTest, BoundsAreAccepted) {
  const Config c = loadValid(R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - name: app
    health_check: { type: tcp, rise: 1, fall: 1000, port: 65535 }
    passive: { consecutive_failures: 1000 }
    servers: [{ name: a, address: "10.0.0.1:80" }]
  - name: b
    health_check: { type: tcp, rise: 1000, fall: 1, port: 1 }
    servers: [{ name: a, address: "10.0.0.1:80" }]
)");
  EXPECT_EQ(c.backends.at(0).healthCheck.rise, 1u);
  EXPECT_EQ(c.backends.at(0).healthCheck.fall, 1000u);
  EXPECT_EQ(c.backends.at(0).healthCheck.port, 65535);
  EXPECT_EQ(c.backends.at(0).passive.consecutiveFailures, 1000u);
  EXPECT_EQ(c.backends.at(1).healthCheck.rise, 1000u);
  EXPECT_EQ(c.backends.at(1).healthCheck.fall, 1u);
  EXPECT_EQ(c.backends.at(1).healthCheck.port, 1);
}

// A document whose one backend checks over HTTP with `expect_status` written as given.
std::string withExpectStatus(std::string_view value) {
  return R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - name: app
    health_check: { type: http, http: { expect_status: )" +
         std::string(value) + R"( } }
    servers: [{ name: a, address: "10.0.0.1:80" }]
)";
}

// One code, one range, a list mixing both (spaces around items allowed), a plain YAML integer,
// and the bounds 100 and 599.
TEST(ConfigHealthTest, ExpectStatusForms) {
  const struct {
    const char* yaml;
    std::vector<StatusRange> ranges;
  } cases[] = {
      {"\"200\"", {{200, 200}}},
      {"\"200-399\"", {{200, 399}}},
      {"\"200,204,300-302\"", {{200, 200}, {204, 204}, {300, 302}}},
      {"\"200, 204 , 300 - 302\"", {{200, 200}, {204, 204}, {300, 302}}},
      {"204", {{204, 204}}},
      {"\"100-599\"", {{100, 599}}},
      {"\"404-404\"", {{404, 404}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    const Config config = loadValid(withExpectStatus(c.yaml));
    ASSERT_EQ(config.backends.size(), 1u);
    EXPECT_EQ(config.backends[0].healthCheck.http.expectStatus, c.ranges);
  }
}

// `passive: off` and `consecutive_failures: 0` both turn passive checks off; an empty `passive:`
// and a map without the key keep the default 5.
TEST(ConfigHealthTest, PassiveOff) {
  const Config c = loadValid(R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: a }
backends:
  - { name: a, passive: off, servers: [{ name: s, address: "10.0.0.1:80" }] }
  - name: b
    passive: { consecutive_failures: 0 }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - { name: c, passive: {}, servers: [{ name: s, address: "10.0.0.1:80" }] }
  - name: d
    passive:
    servers: [{ name: s, address: "10.0.0.1:80" }]
)");
  ASSERT_EQ(c.backends.size(), 4u);
  EXPECT_EQ(c.backends[0].passive.consecutiveFailures, 0u);
  EXPECT_EQ(c.backends[1].passive.consecutiveFailures, 0u);
  EXPECT_EQ(c.backends[2].passive.consecutiveFailures, 5u);
  EXPECT_EQ(c.backends[3].passive.consecutiveFailures, 5u);
}

// admin.mode is octal whether quoted or not, with or without its leading 0; the socket path may
// use all 107 bytes sun_path leaves.
TEST(ConfigHealthTest, AdminModeIsOctal) {
  const struct {
    const char* mode;
    uint32_t value;
  } cases[] = {
      {"\"0600\"", 0600}, {"\"660\"", 0660}, {"0640", 0640}, {"600", 0600},
      {"\"0777\"", 0777}, {"\"0\"", 0},      {"\"7\"", 07},
  };
  const std::string socket = "/" + std::string(106, 's');
  for (const auto& c : cases) {
    SCOPED_TRACE(c.mode);
    const Config config = loadValid("admin: { socket: " + socket + ", mode: " + c.mode + " }\n" +
                                    R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
)");
    EXPECT_EQ(config.admin.mode, c.value);
    EXPECT_EQ(config.admin.socket, socket);
  }
}

// ---- invalid documents: each yields exactly these errors, in this order ------------------------

struct InvalidCase {
  const char* name;
  const char* yaml;
  std::vector<std::string> errors;
};

class HealthConfigErrorTest : public testing::TestWithParam<InvalidCase> {};

// No config is produced and the errors are exactly the expected ones, each with its key path and
// line.
TEST_P(HealthConfigErrorTest, ReportsEveryError) {
  const LoadResult result = loadString(GetParam().yaml, "<string>", kTestMachine);
  EXPECT_FALSE(result.ok());
  EXPECT_FALSE(result.config.has_value());
  EXPECT_EQ(errorStrings(result), GetParam().errors);
}

#define FRONTEND "frontends:\n  - { name: web, listen: \"0.0.0.0:80\", backend: app }\n"

const InvalidCase kInvalidCases[] = {
    // Unknown keys are errors in every new map, at their own path.
    {"UnknownKeys",
     FRONTEND R"(backends:
  - name: app
    health_check: { type: http, inter: 2s, http: { url: / } }
    passive: { errors: 3 }
    servers: [{ name: a, address: "10.0.0.1:80", disabled: true }]
    healthcheck: {}
admin: { path: /run/a.sock }
)",
     {"backends[0].health_check.inter: unknown key (line 5)",
      "backends[0].health_check.http.url: unknown key (line 5)",
      "backends[0].passive.errors: unknown key (line 6)",
      "backends[0].servers[0].disabled: unknown key (line 7)",
      "backends[0].healthcheck: unknown key (line 8)", "admin.path: unknown key (line 9)"}},

    // A written health_check says which type it is; checks configured without one are more
    // likely a slip than a wish for "none".
    {"HealthCheckTypeIsRequired",
     FRONTEND R"(backends:
  - name: app
    health_check:
      interval: 1s
    servers: [{ name: a, address: "10.0.0.1:80" }]
)",
     {"backends[0].health_check.type: required key is missing (line 6)"}},

    // Intervals and the timeout must be greater than 0; slow_start may be 0 but not negative.
    {"ZeroIntervalsAndTimeout",
     FRONTEND R"(backends:
  - name: app
    health_check:
      type: tcp
      interval: 0
      timeout: 0s
      fast_interval: 0ms
      down_interval: 0
    slow_start: -1s
    servers: [{ name: a, address: "10.0.0.1:80", slow_start: 5x }]
)",
     {"backends[0].health_check.interval: must be greater than 0 (line 7)",
      "backends[0].health_check.timeout: must be greater than 0 (line 8)",
      "backends[0].health_check.fast_interval: must be greater than 0 (line 9)",
      "backends[0].health_check.down_interval: must be greater than 0 (line 10)",
      "backends[0].slow_start: expected a duration such as 250ms, 5s, 2m, 1h or 1d, got \"-1s\" "
      "(line 11)",
      "backends[0].servers[0].slow_start: expected a duration such as 250ms, 5s, 2m, 1h or 1d, "
      "got \"5x\" (line 12)"}},

    // timeout must not exceed interval: reported at timeout when it was written, else at the
    // interval that undercuts the default timeout.
    {"TimeoutLongerThanInterval",
     R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: a }
backends:
  - name: a
    health_check: { type: tcp, interval: 2s, timeout: 2500ms }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: b
    health_check: { type: tcp, interval: 500ms }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: c
    health_check: { type: none, timeout: 3s }
    servers: [{ name: s, address: "10.0.0.1:80" }]
)",
     {"backends[0].health_check.timeout: 2500ms is longer than interval (2s): checks would "
      "overlap (HAProxy allows it; ringlb does not) (line 5)",
      "backends[1].health_check.interval: 500ms is shorter than timeout (1s, the default): "
      "checks would overlap (HAProxy allows it; ringlb does not); set a timeout no longer than "
      "interval (line 8)",
      "backends[2].health_check.timeout: 3s is longer than interval (2s, the default): checks "
      "would overlap (HAProxy allows it; ringlb does not) (line 11)"}},

    // A timing key that fails to read is reported once: no overlap error on top of it.
    {"NoOverlapErrorOnTopOfAnUnreadTiming",
     FRONTEND R"(backends:
  - name: app
    health_check: { type: tcp, interval: soon, timeout: 5s }
    servers: [{ name: a, address: "10.0.0.1:80" }]
)",
     {"backends[0].health_check.interval: expected a duration such as 250ms, 5s, 2m, 1h or 1d, "
      "got \"soon\" (line 5)"}},

    // rise and fall are 1..1000, consecutive_failures 0..1000, port 1..65535.
    {"CountsAndPortOutOfRange",
     FRONTEND R"(backends:
  - name: app
    health_check: { type: tcp, rise: 0, fall: 1001, port: 0 }
    passive: { consecutive_failures: 1001 }
    servers: [{ name: a, address: "10.0.0.1:80" }]
  - name: b
    health_check: { type: tcp, rise: -1, port: 65536 }
    servers: [{ name: a, address: "10.0.0.1:80" }]
)",
     {"backends[0].health_check.rise: expected an integer from 1 to 1000, got \"0\" (line 5)",
      "backends[0].health_check.fall: expected an integer from 1 to 1000, got \"1001\" (line 5)",
      "backends[0].health_check.port: expected an integer from 1 to 65535, got \"0\" (line 5)",
      "backends[0].passive.consecutive_failures: expected an integer from 0 to 1000, got "
      "\"1001\" (line 6)",
      "backends[1].health_check.rise: expected an integer from 1 to 1000, got \"-1\" (line 9)",
      "backends[1].health_check.port: expected an integer from 1 to 65535, got \"65536\" "
      "(line 9)"}},

    // `http:` belongs to type http only; with a type that failed to read, no second error.
    {"HttpOnlyWithTypeHttp",
     R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: a }
backends:
  - name: a
    health_check:
      type: tcp
      http: { path: /healthz }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: b
    health_check: { type: none, http: {} }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: c
    health_check: { type: udp, http: {} }
    servers: [{ name: s, address: "10.0.0.1:80" }]
)",
     {"backends[2].health_check.type: expected tcp, http or none, got \"udp\" (line 13)",
      "backends[0].health_check.http: applies only to type: http, and type is tcp (line 7)",
      "backends[1].health_check.http: applies only to type: http, and type is none (line 10)"}},

    // The request a check sends must be well formed: a method of capital letters (1..16), a
    // path starting with '/' without spaces or control characters (at most 1024 bytes), a host
    // without them; CR/LF in particular could add headers of their own.
    {"MalformedHttpRequest",
     R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: a }
backends:
  - name: a
    health_check:
      type: http
      http: { method: get, path: healthz, host: "a b" }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: b
    health_check:
      type: http
      http:
        method: ABCDEFGHIJKLMNOPQ
        path: "/a b"
        host: "x\r\nEvil: 1"
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: c
    health_check:
      type: http
      http: { method: "", path: "/caf\xe9", host: "\t" }
    servers: [{ name: s, address: "10.0.0.1:80" }]
)",
     {"backends[0].health_check.http.method: expected an HTTP method of 1 to 16 capital letters "
      "A-Z, such as GET, HEAD or OPTIONS, got \"get\" (line 7)",
      "backends[0].health_check.http.path: must start with '/', got \"healthz\" (line 7)",
      "backends[0].health_check.http.host: invalid host \"a b\": spaces, control characters and "
      "non-ASCII bytes are not allowed (line 7)",
      "backends[1].health_check.http.method: expected an HTTP method of 1 to 16 capital letters "
      "A-Z, such as GET, HEAD or OPTIONS, got \"ABCDEFGHIJKLMNOPQ\" (line 13)",
      "backends[1].health_check.http.path: invalid path \"/a b\": spaces, control characters and "
      "non-ASCII bytes must be percent-encoded (line 14)",
      "backends[1].health_check.http.host: invalid host \"x\\r\\nEvil: 1\": spaces, control "
      "characters and non-ASCII bytes are not allowed (line 15)",
      "backends[2].health_check.http.method: expected an HTTP method of 1 to 16 capital letters "
      "A-Z, such as GET, HEAD or OPTIONS, got \"\" (line 20)",
      "backends[2].health_check.http.path: invalid path \"/caf\\xc3\\xa9\": spaces, control "
      "characters and non-ASCII bytes must be percent-encoded (line 20)",
      "backends[2].health_check.http.host: invalid host \"\\t\": spaces, control characters and "
      "non-ASCII bytes are not allowed (line 20)"}},

    // expect_status: codes 100..599, ranges low <= high, no empty items, no junk, a scalar.
    {"BadExpectStatus",
     R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: a }
backends:
  - name: a
    health_check:
      type: http
      http: { expect_status: "600" }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: b
    health_check:
      type: http
      http: { expect_status: "200,99-204" }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: c
    health_check:
      type: http
      http: { expect_status: "399-200" }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: d
    health_check:
      type: http
      http: { expect_status: "200,,204" }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: e
    health_check:
      type: http
      http: { expect_status: 2xx }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: f
    health_check:
      type: http
      http: { expect_status: [200, 204] }
    servers: [{ name: s, address: "10.0.0.1:80" }]
  - name: g
    health_check:
      type: http
      http: { expect_status: "200,302-300" }
    servers: [{ name: s, address: "10.0.0.1:80" }]
)",
     {"backends[0].health_check.http.expect_status: status 600 is not a status code: expected "
      "100 to 599 (line 7)",
      "backends[1].health_check.http.expect_status: status 99 in \"200,99-204\" is not a status "
      "code: expected 100 to 599 (line 12)",
      "backends[2].health_check.http.expect_status: range \"399-200\" is reversed: its first "
      "code must not exceed its second (line 17)",
      "backends[3].health_check.http.expect_status: expected status codes such as \"200\", "
      "\"200-399\" or \"200,204,300-302\", got \"200,,204\" (line 22)",
      "backends[4].health_check.http.expect_status: expected status codes such as \"200\", "
      "\"200-399\" or \"200,204,300-302\", got \"2xx\" (line 27)",
      "backends[5].health_check.http.expect_status: expected status codes such as \"200\", "
      "\"200-399\" or \"200,204,300-302\", got a list (line 32)",
      "backends[6].health_check.http.expect_status: range \"302-300\" in \"200,302-300\" is "
      "reversed: its first code must not exceed its second (line 37)"}},

    // Every choice key names its allowed values; backup is true or false only.
    {"BadChoices",
     FRONTEND R"(backends:
  - name: app
    health_check: { type: udp, initial: maybe }
    passive: on
    on_marked_down: close
    servers:
      - { name: a, address: "10.0.0.1:80", state: down, backup: yes }
  - name: b
    passive: [3]
    servers: [{ name: a, address: "10.0.0.1:80" }]
)",
     {"backends[0].health_check.type: expected tcp, http or none, got \"udp\" (line 5)",
      "backends[0].health_check.initial: expected up or down, got \"maybe\" (line 5)",
      "backends[0].passive: expected a map such as { consecutive_failures: 5 } or off, got "
      "\"on\" (line 6)",
      "backends[0].on_marked_down: expected keep or shutdown, got \"close\" (line 7)",
      "backends[0].servers[0].state: expected active, draining or maintenance, got \"down\" "
      "(line 9)",
      "backends[0].servers[0].backup: expected true or false, got \"yes\" (line 9)",
      "backends[1].passive: expected a map such as { consecutive_failures: 5 } or off, got a "
      "list (line 11)"}},

    // A backend of backups only could never serve: backups take traffic only when no other
    // server can. One non-backup server is enough (backend b).
    {"EveryServerIsABackup",
     R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: a }
backends:
  - name: a
    servers:
      - { name: s1, address: "10.0.0.1:80", backup: true }
      - { name: s2, address: "10.0.0.2:80", backup: true }
  - name: b
    servers:
      - { name: s1, address: "10.0.0.1:80", backup: true }
      - { name: s2, address: "10.0.0.2:80" }
)",
     {"backends[0].servers: every server is a backup; at least one must not be (line 5)"}},

    // admin.socket is an absolute path that fits sun_path; admin.mode is octal, at most 0777.
    {"BadAdminSocketAndMode",
     "admin:\n"
     "  socket: run/admin.sock\n"
     "  mode: \"0800\"\n" FRONTEND
     "backends:\n"
     "  - { name: app, servers: [{ name: a, address: \"10.0.0.1:80\" }] }\n",
     {"admin.socket: expected an absolute path such as /run/ringlb/admin.sock, got "
      "\"run/admin.sock\" (leave admin.socket out for no admin socket) (line 2)",
      "admin.mode: expected an octal mode such as \"0600\" or \"660\", at most 0777, got \"0800\" "
      "(line 3)"}},
    {"AdminModeAboveOctal777",
     "admin: { socket: /run/a.sock, mode: \"1777\" }\n" FRONTEND
     "backends:\n"
     "  - { name: app, servers: [{ name: a, address: \"10.0.0.1:80\" }] }\n",
     {"admin.mode: expected an octal mode such as \"0600\" or \"660\", at most 0777, got \"1777\" "
      "(line 1)"}},
    {"AdminModeNotOctalText",
     "admin: { mode: rw-------, socket: \"\" }\n" FRONTEND
     "backends:\n"
     "  - { name: app, servers: [{ name: a, address: \"10.0.0.1:80\" }] }\n",
     {"admin.mode: expected an octal mode such as \"0600\" or \"660\", at most 0777, got "
      "\"rw-------\" (line 1)",
      "admin.socket: expected an absolute path such as /run/ringlb/admin.sock, got \"\" (leave "
      "admin.socket out for no admin socket) (line 1)"}},
    {"AdminSocketNulByte",
     "admin: { socket: \"/run/a\\0b.sock\" }\n" FRONTEND
     "backends:\n"
     "  - { name: app, servers: [{ name: a, address: \"10.0.0.1:80\" }] }\n",
     {"admin.socket: invalid path \"/run/a\\x00b.sock\": contains a NUL byte (line 1)"}},
    {"AdminIsAMap",
     "admin: /run/a.sock\n" FRONTEND
     "backends:\n"
     "  - { name: app, servers: [{ name: a, address: \"10.0.0.1:80\" }] }\n",
     {"admin: expected a map, got \"/run/a.sock\" (line 1)"}},
};

#undef FRONTEND

INSTANTIATE_TEST_SUITE_P(Config, HealthConfigErrorTest, testing::ValuesIn(kInvalidCases),
                         CaseName{});

// The socket path must fit sun_path with its NUL: 107 bytes pass (AdminModeIsOctal), 108 do not;
// a longer value is shown cut, with its length.
TEST(ConfigHealthTest, AdminSocketLongerThanSunPathIsRejected) {
  const std::string socket = "/" + std::string(107, 's');
  const LoadResult result = loadString("admin: { socket: " + socket + " }\n" + R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
)",
                                       "<string>", kTestMachine);
  EXPECT_EQ(errorStrings(result),
            std::vector<std::string>{"admin.socket: \"/" + std::string(63, 's') +
                                     "...\" (108 bytes) is longer than a Unix socket path may "
                                     "be (107 bytes, sun_path) (line 1)"});
}

// A path of 1024 bytes is accepted, 1025 is not.
TEST(ConfigHealthTest, HttpPathAtMost1024Bytes) {
  const auto load = [](std::size_t bytes) {
    return loadString(withExpectStatus("\"200\" , path: /" + std::string(bytes - 1, 'p')),
                      "<string>", kTestMachine);
  };
  const LoadResult fits = load(1024);
  ASSERT_TRUE(fits.ok()) << testing::PrintToString(errorStrings(fits));
  EXPECT_EQ(fits.config->backends.at(0).healthCheck.http.path.size(), 1024u);
  EXPECT_EQ(errorStrings(load(1025)),
            std::vector<std::string>{"backends[0].health_check.http.path: \"/" +
                                     std::string(63, 'p') +
                                     "...\" (1025 bytes) is longer than 1024 bytes (line 5)"});
}

}  // namespace
}  // namespace ringlb::config
