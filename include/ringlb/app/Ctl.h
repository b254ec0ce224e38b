#pragma once
// `ringlb ctl`: sends one command to a running ringlb's admin socket and prints the reply.
//   ringlb ctl [--socket PATH | -c CONFIG] COMMAND...
// Exit status: 0 on success, 1 on an "error:" reply (or bad usage), 2 when the socket cannot be
// reached or the reply does not come (5 s; 300 s for `reload`).
#include <optional>
#include <string>
#include <vector>

namespace ringlb::app {

struct CtlOptions {
  std::string socket;      // --socket PATH
  std::string configPath;  // -c CONFIG: the socket is its admin.socket
  std::string command;     // the remaining words, joined by spaces
};

// `args` are the words after "ctl". nullopt and *error for bad usage.
std::optional<CtlOptions> parseCtl(const std::vector<std::string>& args, std::string* error);
std::string ctlUsage();
// Runs the command; prints the reply to stdout, problems to stderr. Returns the exit status.
int runCtl(const CtlOptions& options);

}  // namespace ringlb::app
