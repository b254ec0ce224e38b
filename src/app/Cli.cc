#include "ringlb/app/Cli.h"

namespace ringlb::app {

std::optional<CliOptions> parseCli(const std::vector<std::string>& args, std::string* error) {
  CliOptions out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-c" || a == "--config") {
      if (i + 1 >= args.size()) {
        *error = a + " needs a file argument";
        return std::nullopt;
      }
      out.configPath = args[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      out.configPath = a.substr(9);
    } else if (a == "--check") {
      out.check = true;
    } else if (a == "--version" || a == "-v") {
      out.version = true;
    } else if (a == "--help" || a == "-h") {
      out.help = true;
    } else if (a == "-d" || a == "--debug") {
      out.debug = true;
    } else if (a == "--upgrade-from") {
      if (i + 1 >= args.size()) {
        *error = a + " needs the running process's admin socket";
        return std::nullopt;
      }
      out.upgradeFrom = args[++i];
    } else {
      *error = "unknown option \"" + a + "\"";
      return std::nullopt;
    }
  }
  if (!out.help && !out.version && out.configPath.empty()) {
    *error = "a configuration file is required (-c FILE)";
    return std::nullopt;
  }
  return out;
}

std::string usage() {
  return "usage: ringlb -c FILE [--check] [-d] [--upgrade-from ADMIN_SOCKET]\n"
         "       ringlb ctl [--socket PATH | -c FILE] COMMAND...\n"
         "       ringlb --version | --help\n"
         "\n"
         "  -c, --config FILE  YAML configuration (see docs/configuration.md)\n"
         "      --check        validate FILE, print every error, exit 0 if valid, 1 if not\n"
         "  -d, --debug        debug logging\n"
         "      --upgrade-from ADMIN_SOCKET\n"
         "                     take over the listening sockets of the ringlb serving that admin\n"
         "                     socket, then have it stop accepting and drain (binary upgrade)\n"
         "  -v, --version      print the version\n"
         "  -h, --help         this text\n"
         "\n"
         "Runs in the foreground and logs to stderr. SIGTERM/SIGINT stop gracefully: accepting\n"
         "stops, open connections get global.shutdown_grace to finish. SIGHUP reloads FILE.\n";
}

}  // namespace ringlb::app
