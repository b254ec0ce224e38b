// The command line: --check validates a config and reports every error with path and line;
// --version and --help exit 0.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "support/ProxyConfig.h"
#include "support/Subprocess.h"
#include "support/TempDir.h"

namespace ringlb::test {
namespace {

// The stderr line that starts with prefix (after any log decoration), or "" if none.
std::string lineContaining(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos) return line;
  }
  return "";
}

// A valid config checks clean: exit 0.
TEST(CheckCliTest, ValidConfigExitsZero) {
  TempDir dir;
  ProxyConfig cfg;
  cfg.servers = {"127.0.0.1:8080", "[::1]:8080"};
  const std::string file = dir.write("good.yaml", cfg.toYaml());
  const CommandResult r = runCommand({RINGLB_BINARY, "--check", "-c", file});
  ASSERT_TRUE(r.status.has_value()) << "--check did not finish within 10 s";
  EXPECT_TRUE(r.status->ok()) << r.status->toString() << "\n" << r.err;
}

// A config with two errors: exit 1, and each error is printed as `FILE: path: message (line N)`.
TEST(CheckCliTest, InvalidConfigReportsEveryErrorWithPathAndLine) {
  TempDir dir;
  const std::string file = dir.write("bad.yaml",
                                     "global: { workers: 1 }\n"           // 1
                                     "frontends:\n"                       // 2
                                     "  - name: web\n"                    // 3
                                     "    listen: \"127.0.0.1:0\"\n"      // 4
                                     "    backend: nosuchbackend\n"       // 5
                                     "backends:\n"                        // 6
                                     "  - name: app\n"                    // 7
                                     "    balance: roundrobin\n"          // 8
                                     "    servers:\n"                     // 9
                                     "      - name: s1\n"                 // 10
                                     "        address: \"127.0.0.1:9\"\n" // 11
                                     "      - name: s2\n"                 // 12
                                     "        address: \"127.0.0.1:10\"\n"// 13
                                     "        wieght: 5\n");              // 14
  const CommandResult r = runCommand({RINGLB_BINARY, "--check", "-c", file});
  ASSERT_TRUE(r.status.has_value()) << "--check did not finish within 10 s";
  EXPECT_TRUE(r.status->exited && r.status->code == 1) << r.status->toString() << "\n" << r.err;

  const std::string typo = lineContaining(r.err, file + ": backends[0].servers[1].wieght:");
  EXPECT_NE(typo.find(file + ": backends[0].servers[1].wieght: unknown key (line 14)"),
            std::string::npos)
      << "stderr:\n" << r.err;
  const std::string dangling = lineContaining(r.err, file + ": frontends[0].backend:");
  EXPECT_NE(dangling.find("(line 5)"), std::string::npos) << "stderr:\n" << r.err;
}

// The frontend and backend the documents below share, after their own first lines.
const char* const kValidTail =
    "frontends:\n"
    "  - { name: web, listen: \"127.0.0.1:0\", backend: app }\n"
    "backends:\n"
    "  - { name: app, servers: [{ name: s1, address: \"127.0.0.1:9\" }] }\n";

// Receive buffers no machine can back (32768 x 1 MiB per worker x 1024 workers = 32 TiB) fail
// --check with the keys, the line and the numbers, rather than pass and fail at start.
TEST(CheckCliTest, BuffersBeyondPhysicalMemoryFailTheCheck) {
  TempDir dir;
  const std::string yaml = std::string("global:\n"
                                       "  workers: 1024\n"
                                       "  buffers: 32768\n"
                                       "  buffer_size: 1048576\n") +
                           kValidTail;
  const std::string file = dir.write("huge-buffers.yaml", yaml);
  const CommandResult r = runCommand({RINGLB_BINARY, "--check", "-c", file});
  ASSERT_TRUE(r.status.has_value()) << "--check did not finish within 10 s";
  EXPECT_TRUE(r.status->exited && r.status->code == 1) << r.status->toString() << "\n" << r.err;
  const std::string error = lineContaining(r.err, file + ": global.buffers:");
  EXPECT_NE(error.find("32768 buffers x 1048576 bytes (buffer_size) x 1024 workers = "
                       "35184372088832 bytes"),
            std::string::npos)
      << "stderr:\n" << r.err;
  EXPECT_NE(error.find("of physical memory"), std::string::npos) << "stderr:\n" << r.err;
  EXPECT_NE(error.find("(line 3)"), std::string::npos) << "stderr:\n" << r.err;
}

// A value carrying terminal escapes is printed escaped: no raw ESC reaches the terminal.
TEST(CheckCliTest, ControlCharactersInValuesArePrintedEscaped) {
  TempDir dir;
  const std::string yaml = std::string("global:\n"
                                       "  workers: \"\\e[2J\\e]0;x\\a\"\n") +
                           kValidTail;
  const std::string file = dir.write("escapes.yaml", yaml);
  const CommandResult r = runCommand({RINGLB_BINARY, "--check", "-c", file});
  ASSERT_TRUE(r.status.has_value()) << "--check did not finish within 10 s";
  EXPECT_TRUE(r.status->exited && r.status->code == 1) << r.status->toString() << "\n" << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "stderr:\n" << r.err;
  EXPECT_EQ(r.err.find('\a'), std::string::npos) << "stderr:\n" << r.err;
  EXPECT_NE(r.err.find("got \"\\x1b[2J\\x1b]0;x\\x07\" (line 2)"), std::string::npos)
      << "stderr:\n" << r.err;
}

// A config file that does not exist is an error, not a crash: exit 1.
TEST(CheckCliTest, MissingFileExitsOne) {
  TempDir dir;
  const CommandResult r = runCommand({RINGLB_BINARY, "--check", "-c", dir.path() + "/nope.yaml"});
  ASSERT_TRUE(r.status.has_value());
  EXPECT_TRUE(r.status->exited && r.status->code == 1) << r.status->toString() << "\n" << r.err;
}

// --version prints the version and exits 0.
TEST(CheckCliTest, VersionPrintsVersionAndExitsZero) {
  const CommandResult r = runCommand({RINGLB_BINARY, "--version"});
  ASSERT_TRUE(r.status.has_value());
  EXPECT_TRUE(r.status->ok()) << r.status->toString() << "\n" << r.err;
#ifdef RINGLB_VERSION
  EXPECT_NE((r.out + r.err).find(RINGLB_VERSION), std::string::npos) << r.out << r.err;
#endif
}

// --help exits 0.
TEST(CheckCliTest, HelpExitsZero) {
  const CommandResult r = runCommand({RINGLB_BINARY, "--help"});
  ASSERT_TRUE(r.status.has_value());
  EXPECT_TRUE(r.status->ok()) << r.status->toString() << "\n" << r.err;
}

}  // namespace
}  // namespace ringlb::test
