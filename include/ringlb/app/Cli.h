#pragma once
// Command-line parsing, kept apart from main() so it can be unit-tested.
#include <optional>
#include <string>
#include <vector>

namespace ringlb::app {

struct CliOptions {
  std::string configPath;
  bool check = false;    // --check: validate and exit 0/1, like haproxy -c
  bool version = false;
  bool help = false;
  bool debug = false;    // -d: debug-level logging
  // --upgrade-from ADMIN_SOCKET: take over the listening sockets of the ringlb serving that
  // admin socket (binary upgrade; docs/operations.md).
  std::string upgradeFrom;
};

// Returns nullopt and sets *error for unknown options or a missing argument.
std::optional<CliOptions> parseCli(const std::vector<std::string>& args, std::string* error);
std::string usage();

}  // namespace ringlb::app
