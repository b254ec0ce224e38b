// The admin socket's line language without the socket: every command's reply and effect, and
// every malformed input's single error line.
#include "ringlb/control/AdminCommands.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringlb/config/Loader.h"
#include "ConfigFixture.h"
#include "ringlb/control/ServerRegistry.h"
#include "ringlb/health/ServerState.h"

namespace ringlb::control {
namespace {

using namespace std::chrono_literals;


// Backend app: s1 active without checks, s2 configured draining (weight 50). Backend db: d1 with
// TCP checks (initial down by default), so `show servers` has all three kinds of health text.
constexpr std::string_view kYaml = R"(frontends:
  - { name: web, listen: "127.0.0.1:8080", backend: app }
  - { name: sql, listen: "127.0.0.1:5432", backend: db }
backends:
  - name: app
    servers:
      - { name: s1, address: "10.0.0.1:80" }
      - { name: s2, address: "10.0.0.2:81", state: draining, weight: 50 }
  - name: db
    health_check: { type: tcp }
    servers:
      - { name: d1, address: "10.0.1.1:5432", weight: 7 }
)";


std::vector<std::string> lines(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      out.emplace_back(text.substr(start));
      break;
    }
    out.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::vector<std::string> fields(std::string_view line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= line.size()) {
    const std::size_t sp = line.find(' ', start);
    const std::size_t end = sp == std::string_view::npos ? line.size() : sp;
    out.emplace_back(line.substr(start, end - start));
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  return out;
}

struct Call {
  const ServerRecord* record;
  health::Transition transition;
};

class AdminCommandsTest : public testing::Test {
 protected:
  AdminCommandsTest() : config_(config::loadOrFail(kYaml)) {
    registry_.adopt(config_);
    AdminInfo info;
    info.version = "9.8.7-test";
    info.started = std::chrono::steady_clock::now() - 5s;
    info.workers = 3;
    info.connections = [] { return uint64_t{42}; };
    commands_ = std::make_unique<AdminCommands>(
        registry_, std::move(info),
        [this](const ServerRecord& r, const health::Transition& t) { calls_.push_back({&r, t}); },
        [this](ServerRecord& r, std::function<void()> applied) {
          weightCalls_.push_back({&r, r.weight});
          if (!weightFailure_.empty()) return weightFailure_;
          if (deferWeights_) {
            pendingApplied_ = std::move(applied);
          } else {
            applied();
          }
          return std::string();
        },
        [this](ServerRecord& r) { killCalls_.push_back(&r); });
  }

  // Runs a command that must reply at once; returns the reply.
  std::string execute(std::string_view line, AdminCommands* commands = nullptr) {
    std::string reply;
    bool replied = false;
    (commands != nullptr ? *commands : *commands_).execute(line, [&](std::string r) {
      EXPECT_FALSE(replied) << "two replies";
      replied = true;
      reply = std::move(r);
    });
    EXPECT_TRUE(replied) << "no reply yet to " << line.substr(0, 80);
    return reply;
  }

  ServerRecord& record(std::string_view backend, std::string_view server) {
    ServerRecord* r = registry_.find(backend, server);
    EXPECT_NE(r, nullptr) << backend << "/" << server;
    return *r;
  }

  // Asserts `reply` is one "error: ..." line followed by the empty line; returns the line.
  static std::string expectOneErrorLine(const std::string& reply) {
    EXPECT_TRUE(reply.starts_with("error: ")) << reply;
    EXPECT_TRUE(reply.ends_with("\n\n")) << reply;
    EXPECT_EQ(reply.find('\n'), reply.size() - 2) << "more than one line: " << reply;
    EXPECT_TRUE(AdminCommands::isError(reply));
    return reply.substr(0, reply.find('\n'));
  }

  config::Config config_;
  ServerRegistry registry_;
  std::vector<Call> calls_;
  std::vector<std::pair<const ServerRecord*, uint32_t>> weightCalls_;  // record, weight seen
  std::string weightFailure_;  // what the weight handler answers
  bool deferWeights_ = false;  // the weight handler keeps `applied` instead of calling it
  std::function<void()> pendingApplied_;
  std::vector<const ServerRecord*> killCalls_;
  std::unique_ptr<AdminCommands> commands_;
};

// ---- help, show ---------------------------------------------------------------------------------

TEST_F(AdminCommandsTest, HelpListsEveryCommand) {
  const std::string reply = execute("help");
  ASSERT_TRUE(reply.ends_with("\n\n")) << reply;
  EXPECT_FALSE(AdminCommands::isError(reply));
  const std::vector<std::string> l = lines(reply);
  // One line per command, then the empty line.
  ASSERT_EQ(l.size(), 8u) << reply;
  EXPECT_TRUE(l[0].starts_with("help ")) << l[0];
  EXPECT_TRUE(l[1].starts_with("show info ")) << l[1];
  EXPECT_TRUE(l[2].starts_with("show servers ")) << l[2];
  EXPECT_TRUE(l[3].starts_with("set server BACKEND/SERVER state ")) << l[3];
  for (const char* state : {"active", "draining", "maintenance"}) {
    EXPECT_NE(l[3].find(state), std::string::npos) << state;
  }
  EXPECT_TRUE(l[4].starts_with("set server BACKEND/SERVER weight ")) << l[4];
  EXPECT_TRUE(l[5].starts_with("shutdown sessions server BACKEND/SERVER ")) << l[5];
  EXPECT_TRUE(l[6].starts_with("reload ")) << l[6];
  EXPECT_EQ(l[7], "");
}

// ---- reload -------------------------------------------------------------------------------------

// `reload` replies when the reload ends (later, from the loop): "ok" with one indented line per
// change, then one per configuration warning, marked "warning: "; or "error:" with every error.
// A line break inside a report line cannot end the reply.
TEST_F(AdminCommandsTest, ReloadRepliesWhenDoneWithTheReport) {
  AdminCommands::ReloadReport pending;
  AdminCommands commands(registry_, AdminInfo{}, {}, {}, {},
                         [&](AdminCommands::ReloadReport done) { pending = std::move(done); });
  std::vector<std::string> replies;
  commands.execute("reload", [&](std::string r) { replies.push_back(std::move(r)); });
  ASSERT_TRUE(replies.empty()) << "replied before the reload ended";
  ASSERT_TRUE(pending);
  pending(true, {"server 'app/s3' changed: weight", "frontend 'api' added"},
          {"f.yaml: backends[0].tcp_smart_connect: no effect (line 9)", "two\nlines"});
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], "ok: configuration reloaded\n  server 'app/s3' changed: weight\n  frontend 'api' added\n"
                        "  warning: f.yaml: backends[0].tcp_smart_connect: no effect (line 9)\n"
                        "  warning: two lines\n\n");

  commands.execute("reload", [&](std::string r) { replies.push_back(std::move(r)); });
  pending(false, {"f.yaml: bogus: unknown key (line 3)", "two\nlines"}, {});
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_TRUE(AdminCommands::isError(replies[1]));
  EXPECT_EQ(replies[1], "error: reload failed; still running the previous configuration\n"
                        "  f.yaml: bogus: unknown key (line 3)\n  two lines\n\n");
}

// ---- binary upgrade: _getstate, _getsocks, _handoff ------------------------------------------------

// `_getstate`: one machine-readable line per server, in config order, with the runtime state.
TEST_F(AdminCommandsTest, GetStateListsEveryServersRuntimeState) {
  registry_.apply(record("app", "s1"), health::Event::adminSet(health::AdminState::Maintenance), "test");
  record("app", "s2").weight = 40;
  const std::string reply = execute("_getstate");
  const std::vector<std::string> l = lines(reply);
  ASSERT_EQ(l.size(), registry_.ordered().size() + 1) << reply;
  for (std::size_t i = 0; i + 1 < l.size(); ++i) {
    const std::vector<std::string> f = fields(l[i]);
    ASSERT_EQ(f.size(), 7u) << l[i];
    EXPECT_EQ(f[0], registry_.ordered()[i]->id());
  }
  EXPECT_EQ(reply, "app/s1 10.0.0.1:80 maintenance unchecked 100 active 100\n"
                   "app/s2 10.0.0.2:81 draining unchecked 40 draining 50\n"
                   "db/d1 10.0.1.1:5432 active down 7 active 7\n\n");
}

// `_getsocks` lists the sockets the handler gives and hands their descriptors to the server,
// one per line after the first; errors and a missing handler are error replies without any.
TEST_F(AdminCommandsTest, GetSocksPassesDescriptorsAndErrors) {
  std::string failure;
  bool handedOff = false;
  AdminCommands commands(registry_, AdminInfo{}, {}, {}, {}, {},
                         AdminCommands::UpgradeHandlers{
                             [&](std::vector<std::pair<std::string, int>>* sockets) {
                               if (failure.empty()) {
                                 sockets->emplace_back("127.0.0.1:0 127.0.0.1:4000 0", 11);
                                 sockets->emplace_back("127.0.0.1:0 127.0.0.1:4000 1", 12);
                               }
                               return failure;
                             },
                             [&] {
                               handedOff = true;
                               return std::string();
                             }});
  std::vector<int> fds;
  std::string reply;
  commands.execute("_getsocks", [&](std::string r) { reply = std::move(r); }, &fds);
  EXPECT_EQ(reply, "ok: 2 listening sockets\n127.0.0.1:0 127.0.0.1:4000 0\n127.0.0.1:0 127.0.0.1:4000 1\n\n");
  EXPECT_EQ(fds, (std::vector<int>{11, 12}));

  failure = "a reload is in progress; try again";
  fds.clear();
  commands.execute("_getsocks", [&](std::string r) { reply = std::move(r); }, &fds);
  EXPECT_EQ(reply, "error: a reload is in progress; try again\n\n");
  EXPECT_TRUE(fds.empty());

  commands.execute("_handoff", [&](std::string r) { reply = std::move(r); });
  EXPECT_TRUE(handedOff);
  EXPECT_EQ(reply.rfind("ok: handing over", 0), 0u) << reply;

  EXPECT_EQ(expectOneErrorLine(execute("_getsocks")), "error: this process cannot hand over its sockets");
  EXPECT_EQ(expectOneErrorLine(execute("_handoff")), "error: this process cannot hand over");
}

TEST_F(AdminCommandsTest, ReloadWithArgumentsOrWithoutAHandlerIsAnError) {
  EXPECT_EQ(expectOneErrorLine(execute("reload now")), "error: usage: reload");
  EXPECT_EQ(expectOneErrorLine(execute("reload")), "error: this process cannot reload");
}

TEST_F(AdminCommandsTest, ShowServersHasHeaderAndOneLinePerServerInConfigOrder) {
  const std::string reply = execute("show servers");
  ASSERT_TRUE(reply.ends_with("\n\n")) << reply;
  EXPECT_FALSE(AdminCommands::isError(reply));
  const std::vector<std::string> l = lines(reply);
  ASSERT_EQ(l.size(), 5u) << reply;  // header, three servers, the empty line
  EXPECT_EQ(l[0], "# backend/server address admin health last_check check_ms active weight "
                  "transitions");
  // No spaces inside a field: every line splits into the header's nine fields.
  EXPECT_EQ(fields(l[1]), (std::vector<std::string>{"app/s1", "10.0.0.1:80", "active",
                                                    "no_check", "-", "-", "0", "100", "0"}));
  EXPECT_EQ(fields(l[2]), (std::vector<std::string>{"app/s2", "10.0.0.2:81", "draining", "DRAIN",
                                                    "-", "-", "0", "50", "0"}));
  // Checked, initial down (the default): one success from UP, "DOWN 1/2" with its space replaced.
  EXPECT_EQ(fields(l[3]), (std::vector<std::string>{"db/d1", "10.0.1.1:5432", "active",
                                                    "DOWN_1/2", "-", "-", "0", "7", "0"}));
  EXPECT_EQ(l[4], "");
}

TEST_F(AdminCommandsTest, ShowServersReportsActiveCountAndLastCheck) {
  record("app", "s1").live->active.store(12);
  record("db", "d1").lastCheck = CheckReport{false, health::FailureReason::Refused,
                                             "connection refused", 3ms};
  const std::vector<std::string> l = lines(execute("show servers"));
  ASSERT_EQ(l.size(), 5u);
  EXPECT_EQ(fields(l[1])[6], "12");
  const std::vector<std::string> d1 = fields(l[3]);
  ASSERT_EQ(d1.size(), 9u) << l[3];
  EXPECT_EQ(d1[4], "refused");
  EXPECT_EQ(d1[5], "3");
}

TEST_F(AdminCommandsTest, ShowInfoReportsVersionUptimeWorkersAndConnections) {
  const std::string reply = execute("show info");
  ASSERT_TRUE(reply.ends_with("\n\n")) << reply;
  EXPECT_FALSE(AdminCommands::isError(reply));
  const std::vector<std::string> l = lines(reply);
  ASSERT_EQ(l.size(), 5u) << reply;
  EXPECT_EQ(l[0], "version: 9.8.7-test");
  ASSERT_TRUE(l[1].starts_with("uptime_seconds: ")) << l[1];
  const long uptime = std::stol(l[1].substr(std::string_view("uptime_seconds: ").size()));
  EXPECT_GE(uptime, 5);    // started 5 s ago
  EXPECT_LT(uptime, 600);  // and not much more
  EXPECT_EQ(l[2], "workers: 3");
  EXPECT_EQ(l[3], "connections: 42");  // from the callback
  EXPECT_EQ(l[4], "");
}

TEST_F(AdminCommandsTest, ShowInfoWithoutConnectionsCallbackSaysZero) {
  AdminCommands bare(registry_, AdminInfo{"v", std::chrono::steady_clock::now(), 1, {}}, {});
  const std::vector<std::string> l = lines(execute("show info", &bare));
  ASSERT_EQ(l.size(), 5u);
  EXPECT_EQ(l[3], "connections: 0");
}

// ---- set server ---------------------------------------------------------------------------------

TEST_F(AdminCommandsTest, SetDrainingChangesStateEligibilityAndReportsTransitionOnce) {
  ServerRecord& s1 = record("app", "s1");
  ASSERT_TRUE(s1.live->eligible.load());
  const std::string reply = execute("set server app/s1 state draining");
  EXPECT_EQ(reply, "ok: app/s1 is draining (DRAIN)\n\n");
  EXPECT_FALSE(AdminCommands::isError(reply));
  EXPECT_EQ(s1.state.admin, health::AdminState::Draining);
  EXPECT_FALSE(s1.live->eligible.load());
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].record, &s1);
  EXPECT_EQ(calls_[0].transition.state, s1.state);
  EXPECT_TRUE(calls_[0].transition.actions.has(health::Action::LogAndCount));
  EXPECT_TRUE(calls_[0].transition.actions.has(health::Action::RecomputeEligibility));
  EXPECT_FALSE(calls_[0].transition.actions.has(health::Action::CloseSessions));
  EXPECT_EQ(s1.transitions, 1u);
  // The other servers are untouched.
  EXPECT_EQ(record("app", "s2").state.admin, health::AdminState::Draining);
  EXPECT_EQ(record("db", "d1").state.admin, health::AdminState::Active);
}

TEST_F(AdminCommandsTest, SetMaintenanceChangesStateAndEligibility) {
  ServerRecord& s1 = record("app", "s1");
  const std::string reply = execute("set server app/s1 state maintenance");
  EXPECT_EQ(reply, "ok: app/s1 is maintenance (MAINT)\n\n");
  EXPECT_EQ(s1.state.admin, health::AdminState::Maintenance);
  EXPECT_FALSE(s1.live->eligible.load());
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].record, &s1);
  EXPECT_EQ(calls_[0].transition.state.admin, health::AdminState::Maintenance);
}

TEST_F(AdminCommandsTest, SetActiveMakesDrainingServerEligible) {
  ServerRecord& s2 = record("app", "s2");
  ASSERT_FALSE(s2.live->eligible.load());  // configured draining
  const std::string reply = execute("set server app/s2 state active");
  EXPECT_EQ(reply, "ok: app/s2 is active (no check)\n\n");
  EXPECT_EQ(s2.state.admin, health::AdminState::Active);
  EXPECT_TRUE(s2.live->eligible.load());
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].record, &s2);
  EXPECT_EQ(calls_[0].transition.state.admin, health::AdminState::Active);
  EXPECT_TRUE(calls_[0].transition.actions.has(health::Action::RecomputeEligibility));
}

TEST_F(AdminCommandsTest, SetActiveOnCheckedServerLeavesItToTheChecks) {
  // d1 is active but DOWN until a check succeeds: `set ... active` changes nothing.
  ServerRecord& d1 = record("db", "d1");
  const health::ServerState before = d1.state;
  EXPECT_EQ(execute("set server db/d1 state active"), "ok: db/d1 is active (DOWN 1/2)\n\n");
  EXPECT_EQ(d1.state, before);
  EXPECT_FALSE(d1.live->eligible.load());
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_TRUE(calls_[0].transition.actions.empty());
}

TEST_F(AdminCommandsTest, TrailingCarriageReturnIsAccepted) {
  EXPECT_EQ(execute("help\r"), execute("help"));
  EXPECT_EQ(execute("set server app/s1 state draining\r"),
            "ok: app/s1 is draining (DRAIN)\n\n");
  EXPECT_EQ(record("app", "s1").state.admin, health::AdminState::Draining);
}

TEST_F(AdminCommandsTest, TabsAndRepeatedBlanksSeparateWords) {
  EXPECT_EQ(execute("show\tservers"), execute("show servers"));
  EXPECT_EQ(execute("\t set \tserver  app/s1\t\tstate maintenance \t"),
            "ok: app/s1 is maintenance (MAINT)\n\n");
  EXPECT_EQ(record("app", "s1").state.admin, health::AdminState::Maintenance);
}

// ---- errors -------------------------------------------------------------------------------------

struct BadLine {
  const char* name;
  std::string line;
  const char* mentions;  // a piece of the error line
};

// Failures name the case rather than dump the struct's bytes.
void PrintTo(const BadLine& bad, std::ostream* os) { *os << bad.name; }

class AdminCommandsErrorTest : public AdminCommandsTest,
                               public testing::WithParamInterface<BadLine> {};

// Each malformed line: one error line, no state change, no transition reported.
TEST_P(AdminCommandsErrorTest, RepliesOneErrorLineAndChangesNothing) {
  std::vector<health::ServerState> before;
  for (const ServerRecord* r : registry_.ordered()) before.push_back(r->state);
  const std::string line = expectOneErrorLine(execute(GetParam().line));
  EXPECT_NE(line.find(GetParam().mentions), std::string::npos) << line;
  EXPECT_TRUE(calls_.empty());
  std::vector<health::ServerState> after;
  for (const ServerRecord* r : registry_.ordered()) after.push_back(r->state);
  EXPECT_EQ(after, before);
}

INSTANTIATE_TEST_SUITE_P(
    Lines, AdminCommandsErrorTest,
    testing::Values(
        BadLine{"Empty", "", "empty command"},
        BadLine{"OnlyBlanks", " \t \r", "empty command"},
        BadLine{"UnknownCommand", "frobnicate", "unknown command 'frobnicate'"},
        BadLine{"ShowUnknown", "show sessions", "unknown command 'show sessions'"},
        BadLine{"HelpWithArgument", "help me", "unknown command"},
        BadLine{"ShowAlone", "show", "unknown command"},
        BadLine{"SetAlone", "set", "unknown command"},
        BadLine{"SetServerAlone", "set server", "usage: set server"},
        BadLine{"SetTooFewWords", "set server app/s1 state", "usage: set server"},
        BadLine{"SetTooManyWords", "set server app/s1 state draining now", "usage: set server"},
        BadLine{"SetWrongKeyword", "set server app/s1 status draining", "usage: set server"},
        BadLine{"UnknownServer", "set server app/s9 state draining", "no server 'app/s9'"},
        BadLine{"UnknownBackend", "set server web/s1 state draining", "no server 'web/s1'"},
        BadLine{"MissingSlash", "set server s1 state draining", "expected BACKEND/SERVER, got 's1'"},
        BadLine{"EmptyServerName", "set server app/ state draining", "expected BACKEND/SERVER"},
        BadLine{"EmptyBackendName", "set server /s1 state draining", "expected BACKEND/SERVER"},
        BadLine{"UnknownState", "set server app/s1 state sleeping", "unknown state 'sleeping'"},
        BadLine{"StateCaseMatters", "set server app/s1 state Active", "unknown state 'Active'"},
        BadLine{"ShutdownAlone", "shutdown", "unknown command"},
        BadLine{"ShutdownSessionsAlone", "shutdown sessions", "usage: shutdown sessions server"},
        BadLine{"ShutdownSessionsNotServer", "shutdown sessions backend app",
                "usage: shutdown sessions server"},
        BadLine{"ShutdownSessionsUnknown", "shutdown sessions server app/s9", "no server 'app/s9'"},
        BadLine{"ShutdownSessionsNoSlash", "shutdown sessions server s1", "expected BACKEND/SERVER"},
        BadLine{"ControlBytesQuotedPrintably", std::string("bad\x01\x7f", 5), "'bad?" "?'"}),
    [](const testing::TestParamInfo<BadLine>& p) { return std::string(p.param.name); });

// A 1 MB word is not echoed back: the reply quotes its first 64 characters and says it was cut.
TEST_F(AdminCommandsTest, HugeWordIsQuotedCutShort) {
  const std::string huge(1 << 20, 'x');
  const std::string cut = "'" + std::string(64, 'x') + "...'";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {huge, cut},                                     // unknown command
      {"set server " + huge + " state draining", cut},  // no slash
      {"set server app/s1 state " + huge, cut},         // unknown state
      {"set server app/" + huge + " state draining",    // unknown server
       "'app/" + std::string(60, 'x') + "...'"},
  };
  for (const auto& [input, quoted] : cases) {
    const std::string reply = execute(input);
    const std::string line = expectOneErrorLine(reply);
    EXPECT_LT(reply.size(), 200u) << line.substr(0, 200);
    EXPECT_NE(line.find(quoted), std::string::npos) << line;
  }
  EXPECT_TRUE(calls_.empty());
}

// A quoted word of exactly 64 characters is shown whole, without the "..." of a cut one.
TEST_F(AdminCommandsTest, WordOfSixtyFourCharactersIsQuotedWhole) {
  const std::string word(64, 'y');
  const std::string line = expectOneErrorLine(execute(word));
  EXPECT_NE(line.find("'" + word + "'"), std::string::npos) << line;
}

TEST(AdminCommandsIsErrorTest, OnlyErrorRepliesAreErrors) {
  EXPECT_TRUE(AdminCommands::isError("error: no server 'a/b'\n\n"));
  EXPECT_TRUE(AdminCommands::isError("error: "));
  EXPECT_FALSE(AdminCommands::isError("ok: app/s1 is draining (DRAIN)\n\n"));
  EXPECT_FALSE(AdminCommands::isError("ok: error: not at the start\n\n"));
  EXPECT_FALSE(AdminCommands::isError("Error: wrong case\n\n"));
  EXPECT_FALSE(AdminCommands::isError("error"));
  EXPECT_FALSE(AdminCommands::isError(""));
}

// set server ... weight N: the record takes the weight, the handler publishes it once, and the
// reply says old -> new.
TEST_F(AdminCommandsTest, SetWeightUpdatesTheRecordAndPublishesOnce) {
  EXPECT_EQ(execute("set server app/s1 weight 250"), "ok: app/s1 weight 100 -> 250\n\n");
  EXPECT_EQ(record("app", "s1").weight, 250u);
  ASSERT_EQ(weightCalls_.size(), 1u);
  EXPECT_EQ(weightCalls_[0].first, &record("app", "s1"));
  EXPECT_EQ(weightCalls_[0].second, 250u) << "the handler must see the new weight";
  EXPECT_EQ(execute("set server app/s1 weight 0"), "ok: app/s1 weight 250 -> 0\n\n");
}

// A weight outside 0..1000 or not a plain integer is refused without touching anything.
TEST_F(AdminCommandsTest, SetWeightRejectsBadValues) {
  for (const char* bad : {"1001", "-1", "12a", "1e3", "99999", "+5"}) {
    expectOneErrorLine(execute(std::string("set server app/s1 weight ") + bad));
  }
  EXPECT_EQ(record("app", "s1").weight, 100u);
  EXPECT_TRUE(weightCalls_.empty());
}

// When publishing fails the record keeps its old weight and the reply is the error.
TEST_F(AdminCommandsTest, SetWeightFailureKeepsTheOldWeight) {
  weightFailure_ = "backend gone";
  EXPECT_EQ(execute("set server app/s1 weight 7"), "error: backend gone\n\n");
  EXPECT_EQ(record("app", "s1").weight, 100u);
}

// Every transition counts in `show servers`' last field; a no-op command does not.
TEST_F(AdminCommandsTest, ShowServersCountsTransitions) {
  execute("set server app/s1 state draining");
  execute("set server app/s1 state draining");  // already draining: no transition
  execute("set server app/s1 state active");
  const std::vector<std::string> l = lines(execute("show servers"));
  ASSERT_GE(l.size(), 2u);
  const std::vector<std::string> f = fields(l[1]);
  ASSERT_EQ(f.size(), 9u) << l[1];
  EXPECT_EQ(f[0], "app/s1");
  EXPECT_EQ(f[8], "2") << l[1];
}

// shutdown sessions server B/S (HAProxy's form): asks the workers, through the handler, to reset
// that server's connections, says how many were open, and leaves its state alone.
TEST_F(AdminCommandsTest, ShutdownSessionsAsksOnceAndKeepsTheState) {
  ServerRecord& s1 = record("app", "s1");
  s1.live->active.store(3, std::memory_order_relaxed);
  const health::ServerState before = s1.state;
  EXPECT_EQ(execute("shutdown sessions server app/s1"),
            "ok: resetting 3 connection(s) of app/s1\n\n");
  ASSERT_EQ(killCalls_.size(), 1u);
  EXPECT_EQ(killCalls_[0], &s1);
  EXPECT_EQ(s1.state, before);
  EXPECT_TRUE(calls_.empty()) << "no state transition";
}

// `set server ... weight` replies only once the handler says the workers have the weight, so
// that an "ok" means new connections see it.
TEST_F(AdminCommandsTest, SetWeightRepliesOnceApplied) {
  deferWeights_ = true;
  std::vector<std::string> replies;
  commands_->execute("set server app/s1 weight 30", [&](std::string r) { replies.push_back(std::move(r)); });
  EXPECT_TRUE(replies.empty()) << "replied before the workers had the weight";
  EXPECT_EQ(record("app", "s1").weight, 30u);
  ASSERT_TRUE(pendingApplied_);
  pendingApplied_();
  EXPECT_EQ(replies, (std::vector<std::string>{"ok: app/s1 weight 100 -> 30\n\n"}));
}

}  // namespace
}  // namespace ringlb::control
