// config::diff: what a reload changes between the running configuration and a newly loaded one,
// which keys only a restart can change, and the lines the log and `ringlb ctl reload` show. Each
// test loads two documents that differ in one place from a shared base.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "ringlb/config/Diff.h"
#include "ringlb/config/Loader.h"
#include "ConfigFixture.h"

namespace ringlb::config {
namespace {


// Plenty of memory, so that the buffer check never decides a case here.

Config loadValid(const std::string& yaml) {
  LoadResult result = loadString(yaml, "<string>", kTestMachine);
  EXPECT_TRUE(result.ok()) << testing::PrintToString(errorStrings(result));
  return result.config ? std::move(*result.config) : Config{};
}

// Two frontends, two backends, three servers, and every restart-only key set, so that each test
// changes one thing by replacing one piece of text.
constexpr std::string_view kBase = R"(global: { workers: 2, buffers: 512, max_connections: 1000 }
frontends:
  - { name: web, listen: ["127.0.0.1:8080", "127.0.0.1:8443"], backend: app }
  - { name: api, listen: "127.0.0.1:9000", backend: api }
backends:
  - name: app
    balance: roundrobin
    health_check: { type: tcp, interval: 2s }
    servers:
      - { name: s1, address: "10.0.0.1:80", weight: 100 }
      - { name: s2, address: "10.0.0.2:80" }
  - name: api
    servers:
      - { name: a1, address: "10.0.1.1:80" }
admin: { socket: /run/ringlb/admin.sock }
metrics: { listen: "127.0.0.1:9100" }
access_log: { path: /var/log/ringlb/access.log }
)";

// `yaml` with `from` (which must occur exactly once) replaced by `to`.
std::string replaced(std::string yaml, std::string_view from, std::string_view to) {
  const std::size_t at = yaml.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(yaml.find(from, at + 1), std::string::npos) << from;
  if (at != std::string::npos) yaml.replace(at, from.size(), to);
  return yaml;
}

// kBase with one edit.
std::string edited(std::string_view from, std::string_view to) {
  return replaced(std::string(kBase), from, to);
}

ConfigDiff diffFromBase(const std::string& next) {
  return diff(loadValid(std::string(kBase)), loadValid(next));
}

// "+frontend web", "-server app/s2", "~backend app: balance,health_check": kind, what, name and
// fields of each change, in order, so that a test states the whole diff in one comparison.
std::vector<std::string> summary(const ConfigDiff& d) {
  std::vector<std::string> out;
  for (const Change& c : d.changes) {
    const char sign = c.kind == ChangeKind::Added ? '+' : c.kind == ChangeKind::Removed ? '-' : '~';
    std::string line = sign + c.what + " " + c.name;
    for (std::size_t i = 0; i < c.fields.size(); ++i) line += (i ? "," : ": ") + c.fields[i];
    out.push_back(line);
  }
  return out;
}

using Lines = std::vector<std::string>;

// ---- nothing changed ----------------------------------------------------------------------------

// A config compared with itself differs in nothing, and says so in one line.
TEST(ConfigDiffTest, IdenticalConfigsAreEmpty) {
  const ConfigDiff d = diffFromBase(std::string(kBase));
  EXPECT_TRUE(d.empty());
  EXPECT_TRUE(d.changes.empty());
  EXPECT_TRUE(d.restartRequired.empty());
  EXPECT_TRUE(d.globalChanged.empty());
  EXPECT_EQ(d.describe(), Lines{"no changes"});
}

// Comments and blank lines move every declaration's line; that is not a configuration change.
TEST(ConfigDiffTest, ShiftedLinesAreNoChange) {
  const Config running = loadValid(std::string(kBase));
  const Config next = loadValid("# edited\n\n# again\n" + std::string(kBase));
  ASSERT_NE(running.backends[0].servers[0].line, next.backends[0].servers[0].line);
  ASSERT_NE(running.frontends[0].line, next.frontends[0].line);
  EXPECT_TRUE(diff(running, next).empty());
}

// The source name is where the config came from, not what it says.
TEST(ConfigDiffTest, SourceNameIsNoChange) {
  const Config running = loadValid(std::string(kBase));
  LoadResult next = loadString(kBase, "/etc/ringlb/ringlb.yaml", kTestMachine);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(diff(running, *next.config).empty());
}

// A frontend's listen addresses are a set: the same addresses in another order bind nothing new.
TEST(ConfigDiffTest, ReorderedListenAddressesAreNoChange) {
  EXPECT_TRUE(diffFromBase(edited(R"(["127.0.0.1:8080", "127.0.0.1:8443"])",
                                  R"(["127.0.0.1:8443", "127.0.0.1:8080"])"))
                  .empty());
}

// ---- servers ------------------------------------------------------------------------------------

// A new server of a kept backend is one Added server named "backend/server".
TEST(ConfigDiffTest, ServerAdded) {
  const ConfigDiff d = diffFromBase(edited(R"(      - { name: s2, address: "10.0.0.2:80" }
)",
                                           R"(      - { name: s2, address: "10.0.0.2:80" }
      - { name: s3, address: "10.0.0.3:80" }
)"));
  EXPECT_EQ(summary(d), Lines{"+server app/s3"});
  EXPECT_TRUE(d.changes[0].fields.empty());
}

// A server gone from a kept backend is one Removed server.
TEST(ConfigDiffTest, ServerRemoved) {
  const ConfigDiff d = diffFromBase(edited(R"(      - { name: s2, address: "10.0.0.2:80" }
)",
                                           ""));
  EXPECT_EQ(summary(d), Lines{"-server app/s2"});
}

// A weight change is that server's change, not its backend's.
TEST(ConfigDiffTest, ServerWeightChanged) {
  EXPECT_EQ(summary(diffFromBase(edited("weight: 100", "weight: 50"))),
            Lines{"~server app/s1: weight"});
}

// A new address for the same server name is a Changed server, not a remove and an add.
TEST(ConfigDiffTest, ServerAddressChanged) {
  EXPECT_EQ(summary(diffFromBase(edited("10.0.0.2:80", "10.0.0.22:80"))),
            Lines{"~server app/s2: address"});
}

// An admin state written in the file is the server's state key.
TEST(ConfigDiffTest, ServerStateChanged) {
  EXPECT_EQ(summary(diffFromBase(edited(R"(address: "10.0.0.2:80")",
                                        R"(address: "10.0.0.2:80", state: draining)"))),
            Lines{"~server app/s2: state"});
}

// Several keys of one server are one Change listing each, in the schema's order.
TEST(ConfigDiffTest, ServerSeveralFieldsInSchemaOrder) {
  const std::string next = edited(R"(address: "10.0.0.2:80")",
                                  R"(address: "10.0.0.9:80", max_connections: 10, backup: true)");
  EXPECT_EQ(summary(diffFromBase(next)),
            Lines{"~server app/s2: address,max_connections,backup"});
}

// A server is identified by backend and name: moving it to another backend removes one and adds
// another.
TEST(ConfigDiffTest, ServerMovedToAnotherBackendIsRemovedAndAdded) {
  const std::string next = replaced(edited(R"(      - { name: s2, address: "10.0.0.2:80" }
)",
                                           ""),
                                    R"(      - { name: a1, address: "10.0.1.1:80" }
)",
                                    R"(      - { name: a1, address: "10.0.1.1:80" }
      - { name: s2, address: "10.0.0.2:80" }
)");
  EXPECT_EQ(summary(diffFromBase(next)), (Lines{"+server api/s2", "-server app/s2"}));
}

// The kept servers in another order are the backend's "servers" key (it decides `balance:
// first`); no server changed.
TEST(ConfigDiffTest, ServerOrderIsTheBackendsServersKey) {
  EXPECT_EQ(summary(diffFromBase(edited(R"(      - { name: s1, address: "10.0.0.1:80", weight: 100 }
      - { name: s2, address: "10.0.0.2:80" }
)",
                                        R"(      - { name: s2, address: "10.0.0.2:80" }
      - { name: s1, address: "10.0.0.1:80", weight: 100 }
)"))),
            Lines{"~backend app: servers"});
}

// ---- backends -----------------------------------------------------------------------------------

// A new backend is one Added backend; its servers come with it and are not listed apart.
TEST(ConfigDiffTest, BackendAdded) {
  const ConfigDiff d = diffFromBase(edited("admin:", R"(  - name: spare
    servers: [{ name: x1, address: "10.0.2.1:80" }]
admin:)"));
  EXPECT_EQ(summary(d), Lines{"+backend spare"});
}

// A backend no frontend uses any more, removed: one Removed backend, its servers with it, and the
// frontend that switched away from it.
TEST(ConfigDiffTest, BackendRemoved) {
  const std::string next = replaced(edited(R"(  - name: api
    servers:
      - { name: a1, address: "10.0.1.1:80" }
)",
                                           ""),
                                    "backend: api", "backend: app");
  EXPECT_EQ(summary(diffFromBase(next)), (Lines{"~frontend api: backend", "-backend api"}));
}

// The balancing algorithm is a backend key.
TEST(ConfigDiffTest, BackendBalanceChanged) {
  EXPECT_EQ(summary(diffFromBase(edited("balance: roundrobin", "balance: leastconn"))),
            Lines{"~backend app: balance"});
}

// Any key under health_check is the backend's health_check.
TEST(ConfigDiffTest, BackendHealthCheckIntervalChanged) {
  EXPECT_EQ(summary(diffFromBase(edited("interval: 2s", "interval: 5s"))),
            Lines{"~backend app: health_check"});
}

// The http sub-keys of a check count too.
TEST(ConfigDiffTest, BackendHealthCheckHttpPathChanged) {
  const Config running = loadValid(
      edited("{ type: tcp, interval: 2s }", "{ type: http, interval: 2s, http: { path: /a } }"));
  const Config next = loadValid(
      edited("{ type: tcp, interval: 2s }", "{ type: http, interval: 2s, http: { path: /b } }"));
  EXPECT_EQ(summary(diff(running, next)), Lines{"~backend app: health_check"});
}

// A backend's slow_start resolves into its servers: the backend key and each server's change.
TEST(ConfigDiffTest, BackendSlowStartAlsoChangesItsServers) {
  EXPECT_EQ(summary(diffFromBase(
                edited("balance: roundrobin", "balance: roundrobin\n    slow_start: 10s"))),
            (Lines{"~backend app: slow_start", "~server app/s1: slow_start",
                   "~server app/s2: slow_start"}));
}

// Delayed ACKs on accepted connections are a frontend change (the reload sets the kept socket).
TEST(ConfigDiffTest, FrontendTcpSmartAcceptChanged) {
  const ConfigDiff d = diffFromBase(edited("backend: app }", "backend: app, tcp_smart_accept: true }"));
  EXPECT_EQ(summary(d), Lines{"~frontend web: tcp_smart_accept"});
}

// So is handing connections over only once the client spoke.
TEST(ConfigDiffTest, FrontendDeferAcceptChanged) {
  const ConfigDiff d = diffFromBase(edited("backend: app }", "backend: app, defer_accept: true }"));
  EXPECT_EQ(summary(d), Lines{"~frontend web: defer_accept"});
}

// Turning the held handshake ACK on is a backend change (new sessions of the backend follow it).
TEST(ConfigDiffTest, BackendTcpSmartConnectChanged) {
  EXPECT_EQ(summary(diffFromBase(
                edited("balance: roundrobin", "balance: roundrobin\n    tcp_smart_connect: true"))),
            Lines{"~backend app: tcp_smart_connect"});
}

// `defaults:` is not compared itself: it shows where it resolves, in each backend using it.
TEST(ConfigDiffTest, DefaultsChangeShowsInTheBackendsThatInheritIt) {
  const ConfigDiff d = diffFromBase("defaults: { retries: 5 }\n" + std::string(kBase));
  EXPECT_EQ(summary(d), (Lines{"~backend app: retries", "~backend api: retries"}));
  EXPECT_TRUE(d.globalChanged.empty());
}

// ---- frontends ----------------------------------------------------------------------------------

// A new frontend is one Added frontend.
TEST(ConfigDiffTest, FrontendAdded) {
  EXPECT_EQ(summary(diffFromBase(edited("backends:", R"(  - name: admin
    listen: "127.0.0.1:7000"
    backend: api
backends:)"))),
            Lines{"+frontend admin"});
}

// A frontend gone from the file is one Removed frontend.
TEST(ConfigDiffTest, FrontendRemoved) {
  EXPECT_EQ(summary(diffFromBase(edited(R"(  - { name: api, listen: "127.0.0.1:9000", backend: api }
)",
                                        ""))),
            Lines{"-frontend api"});
}

// Another address to bind is the frontend's listen key.
TEST(ConfigDiffTest, FrontendListenChanged) {
  EXPECT_EQ(summary(diffFromBase(edited("127.0.0.1:9000", "127.0.0.1:9001"))),
            Lines{"~frontend api: listen"});
}

// Pointing a frontend at another backend is its backend key; neither backend changed.
TEST(ConfigDiffTest, FrontendBackendSwitched) {
  EXPECT_EQ(summary(diffFromBase(edited("backend: api", "backend: app"))),
            Lines{"~frontend api: backend"});
}

// ---- global keys --------------------------------------------------------------------------------

// The worker count cannot change in a running process: restart-only, with its running value.
TEST(ConfigDiffTest, WorkersNeedARestart) {
  const ConfigDiff d = diffFromBase(edited("workers: 2", "workers: 4"));
  EXPECT_TRUE(d.changes.empty());
  EXPECT_TRUE(d.globalChanged.empty());
  EXPECT_EQ(d.restartRequired, Lines{"global.workers"});
  EXPECT_EQ(d.restartRunning, Lines{"2"});
  EXPECT_FALSE(d.empty());
}

// Workers set up their receive path at start: turning standing receives off needs a restart.
TEST(ConfigDiffTest, StandingReceiveNeedsARestart) {
  const ConfigDiff d =
      diffFromBase(edited("workers: 2,", "workers: 2, standing_receive: false,"));
  EXPECT_TRUE(d.changes.empty());
  EXPECT_EQ(d.restartRequired, Lines{"global.standing_receive"});
  EXPECT_EQ(d.restartRunning, Lines{"true"});
  Config next = loadValid(edited("workers: 2,", "workers: 2, standing_receive: false,"));
  keepRestartOnly(loadValid(std::string(kBase)), next);
  EXPECT_TRUE(next.global.standingReceive) << "the running value is what stays in force";
}

// keepRestartOnly puts the running worker count back and keeps the live change beside it.
TEST(ConfigDiffTest, KeepRestartOnlyRestoresWorkersAndKeepsAWeightChange) {
  const Config running = loadValid(std::string(kBase));
  Config next = loadValid(replaced(edited("workers: 2", "workers: 4"), "weight: 100", "weight: 7"));
  ASSERT_EQ(diff(running, next).restartRequired, Lines{"global.workers"});
  keepRestartOnly(running, next);
  EXPECT_EQ(next.global.workers, 2u);
  EXPECT_EQ(next.backends[0].servers[0].weight, 7u);
  const ConfigDiff d = diff(running, next);
  EXPECT_TRUE(d.restartRequired.empty());
  EXPECT_EQ(summary(d), Lines{"~server app/s1: weight"});
}

// keepRestartOnly covers every restart-only key, and nothing else.
TEST(ConfigDiffTest, KeepRestartOnlyRestoresEveryRestartKey) {
  const Config running = loadValid(std::string(kBase));
  Config next = loadValid(R"(global:
  workers: auto
  buffers: 1024
  buffer_size: 65536
  max_connections: 5
frontends:
  - { name: web, listen: "127.0.0.1:8080", backend: app }
backends:
  - { name: app, servers: [{ name: s1, address: "10.0.0.1:80" }] }
admin: { mode: "0660" }
metrics: { compat: haproxy }
access_log: { path: stdout, format: json }
)");
  EXPECT_EQ(diff(running, next).restartRequired,
            (Lines{"global.workers", "global.buffers", "global.buffer_size", "admin.socket",
                   "admin.mode", "metrics.listen", "metrics.compat", "access_log.path"}));
  keepRestartOnly(running, next);
  const ConfigDiff d = diff(running, next);
  EXPECT_TRUE(d.restartRequired.empty());
  EXPECT_EQ(d.globalChanged, (Lines{"global.max_connections", "access_log.format"}));
  EXPECT_EQ(next.global.maxConnections, 5u);
}

// The access log's format applies to the next line written; its path is a file opened at start.
TEST(ConfigDiffTest, AccessLogFormatIsLiveButPathNeedsARestart) {
  const ConfigDiff format = diffFromBase(
      edited("{ path: /var/log/ringlb/access.log }",
             "{ path: /var/log/ringlb/access.log, format: json }"));
  EXPECT_EQ(format.globalChanged, Lines{"access_log.format"});
  EXPECT_TRUE(format.restartRequired.empty());

  const ConfigDiff path = diffFromBase(edited("/var/log/ringlb/access.log", "/var/log/other.log"));
  EXPECT_EQ(path.restartRequired, Lines{"access_log.path"});
  EXPECT_EQ(path.restartRunning, Lines{"/var/log/ringlb/access.log"});
  EXPECT_TRUE(path.globalChanged.empty());
}

// The live global keys are listed in globalChanged, in the schema's order.
TEST(ConfigDiffTest, LiveGlobalKeysAreGlobalChanged) {
  const ConfigDiff d = diffFromBase(edited(
      "max_connections: 1000 }", "max_connections: 2000, shutdown_grace: 5s, hash_seed: 7 }"));
  EXPECT_EQ(d.globalChanged,
            (Lines{"global.max_connections", "global.shutdown_grace", "global.hash_seed"}));
  EXPECT_TRUE(d.restartRequired.empty());
  EXPECT_TRUE(d.changes.empty());
}

// ---- order and text -----------------------------------------------------------------------------

// Frontends, then backends, then servers; in each group the new config's order for kept and
// added ones, then the removed ones in the running config's order.
TEST(ConfigDiffTest, ChangesAreGroupedAndOrdered) {
  const Config running = loadValid(std::string(kBase));
  const Config next = loadValid(R"(frontends:
  - { name: new, listen: "127.0.0.1:7000", backend: app }
  - { name: api, listen: "127.0.0.1:9001", backend: api }
backends:
  - name: api
    balance: first
    servers:
      - { name: a0, address: "10.0.1.0:80" }
      - { name: a1, address: "10.0.1.1:80", weight: 3 }
  - name: extra
    servers:
      - { name: e1, address: "10.0.3.1:80" }
  - name: app
    balance: roundrobin
    health_check: { type: tcp, interval: 2s }
    servers:
      - { name: s3, address: "10.0.0.3:80" }
global: { workers: 2, buffers: 512, max_connections: 1000 }
admin: { socket: /run/ringlb/admin.sock }
metrics: { listen: "127.0.0.1:9100" }
access_log: { path: /var/log/ringlb/access.log }
)");
  EXPECT_EQ(summary(diff(running, next)),
            (Lines{"+frontend new", "~frontend api: listen", "-frontend web",
                   "~backend api: balance", "+backend extra", "+server api/a0",
                   "~server api/a1: weight", "+server app/s3", "-server app/s1",
                   "-server app/s2"}));
}

// One line per change, global key and restart-only key, in that order.
TEST(ConfigDiffTest, DescribeSaysWhatChangedOnePerLine) {
  const Config running = loadValid(std::string(kBase));
  const Config next = loadValid(R"(global:
  workers: 4
  buffers: 512
  max_connections: 1000
  hash_seed: 9
frontends:
  - { name: web, listen: ["127.0.0.1:8080", "127.0.0.1:8443"], backend: app }
backends:
  - name: app
    balance: leastconn
    health_check: { type: tcp, interval: 3s }
    servers:
      - { name: s1, address: "10.0.0.1:80", weight: 5 }
      - { name: s3, address: "10.0.0.3:80" }
  - name: api
    servers:
      - { name: a1, address: "10.0.1.1:80" }
  - { name: more, servers: [{ name: m1, address: "10.0.4.1:80" }] }
admin: { socket: /run/ringlb/admin.sock }
metrics: { listen: "127.0.0.1:9100" }
access_log: { path: /var/log/ringlb/access.log }
)");
  EXPECT_EQ(diff(running, next).describe(),
            (Lines{"frontend 'api' removed",
                   "backend 'app' changed: balance, health_check",
                   "backend 'more' added",
                   "server 'app/s1' changed: weight",
                   "backend 'app': server 'app/s3' added",
                   "backend 'app': server 'app/s2' removed",
                   "global.hash_seed changed",
                   "global.workers changed: needs a restart (still 2)"}));
}

// Restart-only values are shown as YAML writes them: auto, octal modes, none for an unset key.
TEST(ConfigDiffTest, DescribeShowsRunningValuesAsWritten) {
  const Config running = loadValid(R"(frontends:
  - { name: web, listen: "127.0.0.1:8080", backend: app }
backends:
  - { name: app, servers: [{ name: s1, address: "10.0.0.1:80" }] }
)");
  const Config next = loadValid(R"(global: { workers: 3 }
frontends:
  - { name: web, listen: "127.0.0.1:8080", backend: app }
backends:
  - { name: app, servers: [{ name: s1, address: "10.0.0.1:80" }] }
admin: { socket: /run/a.sock, mode: "0660" }
metrics: { listen: "127.0.0.1:9100", compat: haproxy }
)");
  EXPECT_EQ(diff(running, next).describe(),
            (Lines{"global.workers changed: needs a restart (still auto)",
                   "admin.socket changed: needs a restart (still none)",
                   "admin.mode changed: needs a restart (still 0600)",
                   "metrics.listen changed: needs a restart (still none)",
                   "metrics.compat changed: needs a restart (still none)"}));
}

}  // namespace
}  // namespace ringlb::config
