// The configuration keys of the metrics endpoint and the access log: `metrics:` and
// `access_log:`. The loader only reads, validates and defaults them; these tests pin what a
// loaded Config carries and every error the keys can produce.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "ringlb/config/Loader.h"
#include "ConfigFixture.h"

namespace ringlb::config {
namespace {


// Plenty of memory, so that the buffer check never decides a case here.

struct CaseName {
  template <class Case>
  std::string operator()(const testing::TestParamInfo<Case>& c) const {
    return c.param.name;
  }
};

// The smallest valid frontends and backends; a test puts its own sections before them.
constexpr std::string_view kServing = R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
)";

Config loadValid(const std::string& yaml) {
  LoadResult result = loadString(yaml, "<string>", kTestMachine);
  EXPECT_TRUE(result.ok()) << testing::PrintToString(errorStrings(result));
  return result.config ? std::move(*result.config) : Config{};
}

std::vector<std::string> loadErrors(const std::string& yaml) {
  const LoadResult result = loadString(yaml, "<string>", kTestMachine);
  EXPECT_FALSE(result.config.has_value());
  return errorStrings(result);
}

// ---- valid documents ----------------------------------------------------------------------------

// Without either section: no metrics endpoint, ringlb's names only, no access log, text format.
TEST(ConfigObservabilityTest, DefaultsWhenNeitherSectionIsWritten) {
  const Config c = loadValid(std::string(kServing));
  EXPECT_FALSE(c.metrics.listen.has_value());
  EXPECT_EQ(c.metrics.compat, MetricsCompat::None);
  EXPECT_EQ(c.accessLog.path, "");
  EXPECT_EQ(c.accessLog.format, AccessLogFormat::Text);
}

// The example of docs/configuration.md: every key lands in its field.
TEST(ConfigObservabilityTest, EveryKeyIsRead) {
  const Config c = loadValid(R"(metrics:
  listen: "127.0.0.1:9100"
  compat: haproxy
access_log:
  path: /var/log/ringlb/access.log
  format: json
)" + std::string(kServing));
  ASSERT_TRUE(c.metrics.listen.has_value());
  EXPECT_EQ(c.metrics.listen->toString(), "127.0.0.1:9100");
  EXPECT_EQ(c.metrics.compat, MetricsCompat::HAProxy);
  EXPECT_EQ(c.accessLog.path, "/var/log/ringlb/access.log");
  EXPECT_EQ(c.accessLog.format, AccessLogFormat::Json);
}

// A section written with no content, or as an empty map, means "all defaults", like `global:`.
TEST(ConfigObservabilityTest, EmptySectionsTakeTheDefaults) {
  for (const char* sections : {"metrics:\naccess_log:\n", "metrics: {}\naccess_log: {}\n"}) {
    SCOPED_TRACE(sections);
    const Config c = loadValid(sections + std::string(kServing));
    EXPECT_FALSE(c.metrics.listen.has_value());
    EXPECT_EQ(c.metrics.compat, MetricsCompat::None);
    EXPECT_EQ(c.accessLog.path, "");
    EXPECT_EQ(c.accessLog.format, AccessLogFormat::Text);
  }
}

// compat may be set without listen (it then changes nothing), and format without path: each key
// is optional on its own, as admin.mode is without admin.socket.
TEST(ConfigObservabilityTest, EachKeyIsOptionalOnItsOwn) {
  const Config c =
      loadValid("metrics: { compat: haproxy }\naccess_log: { format: json }\n" +
                std::string(kServing));
  EXPECT_FALSE(c.metrics.listen.has_value());
  EXPECT_EQ(c.metrics.compat, MetricsCompat::HAProxy);
  EXPECT_EQ(c.accessLog.path, "");
  EXPECT_EQ(c.accessLog.format, AccessLogFormat::Json);
}

// Every address form a frontend accepts: IPv4, bracketed IPv6 (kept canonical), unquoted, and
// port 0 (the kernel picks one, as tests do), which collides with nothing, not even a frontend
// on port 0 of the same IP. A frontend on the same IP with another port is no collision either.
TEST(ConfigObservabilityTest, ListenAddressForms) {
  const struct {
    const char* yaml;
    const char* address;
  } cases[] = {
      {"\"127.0.0.1:9100\"", "127.0.0.1:9100"},
      {"127.0.0.1:9100", "127.0.0.1:9100"},
      {"\"0.0.0.0:81\"", "0.0.0.0:81"},
      {"\"[::1]:9100\"", "[::1]:9100"},
      {"\"[0:0::1]:9100\"", "[::1]:9100"},
      {"\"[::]:80\"", "[::]:80"},  // the frontend's 0.0.0.0:80 is another address
      {"\"127.0.0.1:0\"", "127.0.0.1:0"},
      {"\"127.0.0.1:65535\"", "127.0.0.1:65535"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    const Config config = loadValid(std::string("metrics: { listen: ") + c.yaml + R"( }
frontends:
  - { name: web, listen: ["0.0.0.0:80", "127.0.0.1:0"], backend: app }
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
)");
    ASSERT_TRUE(config.metrics.listen.has_value());
    EXPECT_EQ(config.metrics.listen->toString(), c.address);
  }
}

// Both values of each choice, and every path form: stdout, an absolute path (spaces and UTF-8
// are fine in a file name), and the longest path open() takes (4095 bytes).
TEST(ConfigObservabilityTest, ChoicesAndPathForms) {
  const std::string longest = "/" + std::string(4094, 'p');
  const struct {
    std::string yaml;
    MetricsCompat compat;
    std::string path;
    AccessLogFormat format;
  } cases[] = {
      {"metrics: { compat: none }\naccess_log: { path: stdout, format: text }\n",
       MetricsCompat::None, "stdout", AccessLogFormat::Text},
      {"metrics: { compat: \"haproxy\" }\naccess_log: { path: \"stdout\", format: \"json\" }\n",
       MetricsCompat::HAProxy, "stdout", AccessLogFormat::Json},
      {"access_log: { path: \"/var/log/ring lb/acc\xc3\xa8s.log\" }\n", MetricsCompat::None,
       "/var/log/ring lb/acc\xc3\xa8s.log", AccessLogFormat::Text},
      {"access_log: { path: " + longest + " }\n", MetricsCompat::None, longest,
       AccessLogFormat::Text},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml.substr(0, 80));
    const Config config = loadValid(c.yaml + std::string(kServing));
    EXPECT_EQ(config.metrics.compat, c.compat);
    EXPECT_EQ(config.accessLog.path, c.path);
    EXPECT_EQ(config.accessLog.format, c.format);
  }
}

// The shipped reference config sets both sections (it covers every key).
TEST(ConfigObservabilityTest, ReferenceConfigSetsBothSections) {
  const LoadResult result = loadFile(RINGLB_TEST_DATA "/../../conf/ringlb.yaml", kTestMachine);
  ASSERT_TRUE(result.ok()) << testing::PrintToString(errorStrings(result));
  const Config& c = *result.config;
  ASSERT_TRUE(c.metrics.listen.has_value());
  EXPECT_EQ(c.metrics.listen->toString(), "127.0.0.1:9100");
  EXPECT_EQ(c.metrics.compat, MetricsCompat::None);
  EXPECT_EQ(c.accessLog.path, "/var/log/ringlb/access.log");
  EXPECT_EQ(c.accessLog.format, AccessLogFormat::Text);
}

// ---- invalid documents: each yields exactly these errors, in this order ------------------------

struct InvalidCase {
  const char* name;
  const char* yaml;
  std::vector<std::string> errors;
};

class ObservabilityConfigErrorTest : public testing::TestWithParam<InvalidCase> {};

// No config is produced and the errors are exactly the expected ones, each with its key path and
// line.
TEST_P(ObservabilityConfigErrorTest, ReportsEveryError) {
  EXPECT_EQ(loadErrors(GetParam().yaml), GetParam().errors);
}

#define SERVING                                                    \
  "frontends:\n"                                                   \
  "  - { name: web, listen: \"0.0.0.0:80\", backend: app }\n"      \
  "backends:\n"                                                    \
  "  - { name: app, servers: [{ name: a, address: \"10.0.0.1:80\" }] }\n"

const InvalidCase kInvalidCases[] = {
    // Unknown and repeated keys are errors in both maps, at their own path.
    {"UnknownAndRepeatedKeys",
     "metrics:\n"
     "  listen: \"127.0.0.1:9100\"\n"
     "  port: 9100\n"
     "  listen: \"127.0.0.1:9101\"\n"
     "access_log: { file: /var/log/a.log, format: json, format: text }\n" SERVING,
     {"metrics.port: unknown key (line 3)",
      "metrics.listen: duplicate key: first set on line 2 (line 4)",
      "access_log.file: unknown key (line 5)",
      "access_log.format: duplicate key: first set on line 5 (line 5)"}},

    // Each section is a map; each value a scalar.
    {"WrongTypes",
     "metrics: \"127.0.0.1:9100\"\n"
     "access_log: [stdout]\n" SERVING,
     {"metrics: expected a map, got \"127.0.0.1:9100\" (line 1)",
      "access_log: expected a map, got a list (line 2)"}},
    {"WrongValueTypes",
     "metrics:\n"
     "  listen: [\"127.0.0.1:9100\"]\n"
     "  compat: { haproxy: true }\n"
     "access_log:\n"
     "  path: { file: /a.log }\n"
     "  format: [json]\n" SERVING,
     {"metrics.listen: expected an address such as \"10.0.0.1:80\", got a list (line 2)",
      "metrics.compat: expected none or haproxy, got a map (line 3)",
      "access_log.path: expected an absolute path such as /var/log/ringlb/access.log, or "
      "stdout, got a map (line 5)",
      "access_log.format: expected text or json, got a list (line 6)"}},

    // Choices are exact, lower case: no other exporter, no other format.
    {"UnknownChoices",
     "metrics: { compat: prometheus }\n"
     "access_log: { format: xml }\n" SERVING,
     {"metrics.compat: expected none or haproxy, got \"prometheus\" (line 1)",
      "access_log.format: expected text or json, got \"xml\" (line 2)"}},
    {"ChoicesAreCaseSensitive",
     "metrics: { compat: HAProxy }\n"
     "access_log: { format: JSON }\n" SERVING,
     {"metrics.compat: expected none or haproxy, got \"HAProxy\" (line 1)",
      "access_log.format: expected text or json, got \"JSON\" (line 2)"}},

    // The listen address needs a port, an IP literal (no host names) and brackets for IPv6.
    {"ListenWithoutPort",
     "metrics: { listen: \"127.0.0.1\" }\n" SERVING,
     {"metrics.listen: invalid address \"127.0.0.1\": expected \"ip:port\" or \"[ipv6]:port\" "
      "(line 1)"}},
    {"ListenPortOnly",
     "metrics:\n"
     "  listen: 9100\n" SERVING,
     {"metrics.listen: invalid address \"9100\": expected \"ip:port\" or \"[ipv6]:port\" "
      "(line 2)"}},
    {"ListenEmptyPort",
     "metrics: { listen: \"[::1]:\" }\n" SERVING,
     {"metrics.listen: invalid address \"[::1]:\": \"\" is not a port number (0-65535) "
      "(line 1)"}},
    {"ListenPortOutOfRange",
     "metrics: { listen: \"127.0.0.1:65536\" }\n" SERVING,
     {"metrics.listen: invalid address \"127.0.0.1:65536\": \"65536\" is not a port number "
      "(0-65535) (line 1)"}},
    {"ListenHostName",
     "metrics: { listen: \"localhost:9100\" }\n" SERVING,
     {"metrics.listen: invalid address \"localhost:9100\": \"localhost\" is not an IPv4 address "
      "(host names are not resolved) (line 1)"}},
    {"ListenUnbracketedIpv6",
     "metrics: { listen: \"::1:9100\" }\n" SERVING,
     {"metrics.listen: invalid address \"::1:9100\": IPv6 addresses must be bracketed, as in "
      "\"[::1]:80\" (line 1)"}},
    {"ListenEmpty",
     "metrics:\n"
     "  listen:\n" SERVING,
     {"metrics.listen: expected an address such as \"10.0.0.1:80\", got nothing (line 2)"}},

    // The path: not empty (leave it out to turn the log off), absolute or stdout, no NUL byte.
    {"EmptyPath",
     "access_log:\n"
     "  path: \"\"\n" SERVING,
     {"access_log.path: must not be empty (leave access_log.path out for no access log) "
      "(line 2)"}},
    {"NullPath",
     "access_log:\n"
     "  path:\n"
     "  format: json\n" SERVING,
     {"access_log.path: expected an absolute path such as /var/log/ringlb/access.log, or "
      "stdout, got nothing (line 2)"}},
    {"RelativePath",
     "access_log: { path: log/access.log }\n" SERVING,
     {"access_log.path: expected an absolute path such as /var/log/ringlb/access.log, or "
      "stdout, got \"log/access.log\" (line 1)"}},
    {"StdoutIsExact",
     "access_log: { path: STDOUT }\n" SERVING,
     {"access_log.path: expected an absolute path such as /var/log/ringlb/access.log, or "
      "stdout, got \"STDOUT\" (line 1)"}},
    {"PathWithNulByte",
     "access_log: { path: \"/var/log/a\\0b.log\" }\n" SERVING,
     {"access_log.path: invalid path \"/var/log/a\\x00b.log\": contains a NUL byte (line 1)"}},

    // The metrics endpoint may not take a frontend's address, compared by value; the error
    // names the frontend and where it listens. Only the first frontend is named even when a
    // later one repeats the address (that repetition is its own error).
    {"ListenUsedByAFrontend",
     R"(frontends:
  - { name: web, listen: "0.0.0.0:80", backend: app }
  - name: internal
    listen:
      - "127.0.0.1:8080"
      - "[::1]:9100"
    backend: app
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
metrics:
  compat: haproxy
  listen: "[0::1]:9100"
)",
     {"metrics.listen: [::1]:9100 is already used by frontends[1].listen[1] (frontend "
      "\"internal\") on line 6 (line 12)"}},
    {"ListenUsedByAFrontendWrittenAsOneAddress",
     "metrics: { listen: \"0.0.0.0:80\" }\n" SERVING,
     {"metrics.listen: 0.0.0.0:80 is already used by frontends[0].listen (frontend \"web\") "
      "on line 3 (line 1)"}},
    // A frontend whose name is missing is still found by its address; the name is left out.
    {"ListenUsedByAFrontendWithoutAName",
     R"(metrics: { listen: "127.0.0.1:8080" }
frontends:
  - { listen: "127.0.0.1:8080", backend: app }
backends:
  - { name: app, servers: [{ name: a, address: "10.0.0.1:80" }] }
)",
     {"frontends[0].name: required key is missing (line 3)",
      "metrics.listen: 127.0.0.1:8080 is already used by frontends[0].listen on line 3 "
      "(line 1)"}},
    // A listen address that fails to read is reported once: no collision check on top of it.
    {"NoCollisionErrorOnTopOfAnUnreadAddress",
     "metrics: { listen: \"0.0.0.0:80:1\" }\n" SERVING,
     {"metrics.listen: invalid address \"0.0.0.0:80:1\": IPv6 addresses must be bracketed, as "
      "in \"[::1]:80\" (line 1)"}},
};

#undef SERVING

INSTANTIATE_TEST_SUITE_P(Config, ObservabilityConfigErrorTest, testing::ValuesIn(kInvalidCases),
                         CaseName{});

// A path of 4095 bytes is accepted (ChoicesAndPathForms), 4096 is not: open() would refuse it.
// The message shows the value cut, with its length.
TEST(ConfigObservabilityTest, PathLongerThanPathMaxIsRejected) {
  const std::string path = "/" + std::string(4095, 'p');
  EXPECT_EQ(loadErrors("access_log: { path: " + path + " }\n" + std::string(kServing)),
            std::vector<std::string>{"access_log.path: \"/" + std::string(63, 'p') +
                                     "...\" (4096 bytes) is longer than a file path may be "
                                     "(4095 bytes, PATH_MAX) (line 1)"});
}

}  // namespace
}  // namespace ringlb::config
