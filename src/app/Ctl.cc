#include "ringlb/app/Ctl.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>

#include "ringlb/config/Loader.h"

namespace ringlb::app {

std::optional<CtlOptions> parseCtl(const std::vector<std::string>& args, std::string* error) {
  CtlOptions out;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "--socket" || a == "-s") && i + 1 < args.size()) {
      out.socket = args[++i];
    } else if ((a == "-c" || a == "--config") && i + 1 < args.size()) {
      out.configPath = args[++i];
    } else if (a == "--socket" || a == "-s" || a == "-c" || a == "--config") {
      *error = a + " needs an argument";
      return std::nullopt;
    } else {
      break;
    }
  }
  for (; i < args.size(); ++i) {
    if (!out.command.empty()) out.command += ' ';
    out.command += args[i];
  }
  if (out.socket.empty() == out.configPath.empty()) {
    *error = "give exactly one of --socket PATH and -c CONFIG";
    return std::nullopt;
  }
  if (out.command.empty()) {
    *error = "no command (try: ringlb ctl --socket PATH help)";
    return std::nullopt;
  }
  if (out.command.find('\n') != std::string::npos) {
    *error = "a command is one line";
    return std::nullopt;
  }
  return out;
}

std::string ctlUsage() {
  return "usage: ringlb ctl [--socket PATH | -c CONFIG] COMMAND...\n"
         "  sends COMMAND to the admin socket of a running ringlb (PATH, or CONFIG's\n"
         "  admin.socket) and prints the reply; `help` lists the commands.\n"
         "  exit status: 0 ok, 1 error reply, 2 socket unreachable\n";
}

int runCtl(const CtlOptions& options) {
  std::string path = options.socket;
  if (path.empty()) {
    config::LoadResult loaded = config::loadFile(options.configPath);
    if (!loaded.ok()) {
      for (const auto& e : loaded.errors) std::cerr << options.configPath << ": " << e.toString() << "\n";
      return 2;
    }
    path = loaded.config->admin.socket;
    if (path.empty()) {
      std::cerr << "ringlb ctl: " << options.configPath << " configures no admin.socket\n";
      return 2;
    }
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    std::cerr << "ringlb ctl: socket path too long: " << path << "\n";
    return 2;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    std::cerr << "ringlb ctl: cannot reach " << path << ": " << std::strerror(errno) << "\n";
    if (fd >= 0) ::close(fd);
    return 2;
  }
  const std::string line = options.command + "\n";
  std::string reply;
  bool sent = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
  // A reload replies once the workers have the new configuration: building a large one takes
  // longer than any other command.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(options.command == "reload" ? 300 : 5);
  // A reply ends with an empty line; the server keeps the connection open for more commands.
  while (sent && reply.find("\n\n") == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const std::size_t end = reply.find("\n\n");
  if (end == std::string::npos) {
    std::cerr << "ringlb ctl: no complete reply from " << path << "\n";
    if (!reply.empty()) std::cout << reply;
    return 2;
  }
  reply.resize(end + 1);
  std::cout << reply;
  return reply.starts_with("error: ") ? 1 : 0;
}

}  // namespace ringlb::app
