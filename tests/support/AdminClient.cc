#include "support/AdminClient.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "support/Client.h"

namespace ringlb::test {

AdminClient::AdminClient(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return;
  std::memcpy(addr.sun_path, path.data(), path.size());
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    fd_ = std::move(fd);
  }
}

std::string AdminClient::command(const std::string& line, const Deadline& deadline) {
  if (!fd_ || !sendAll(fd_.get(), line + "\n", deadline)) return {};
  return reply(deadline);
}

std::string AdminClient::reply(const Deadline& deadline) {
  if (!fd_) return {};
  for (;;) {
    const std::size_t end = pending_.find("\n\n");
    if (end != std::string::npos) {
      std::string reply = pending_.substr(0, end + 1);
      pending_.erase(0, end + 2);
      return reply;
    }
    pollfd pfd{fd_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, deadline.pollMs()) <= 0) return {};
    char buf[4096];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n <= 0) return {};
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

std::string adminCommand(const std::string& path, const std::string& line) {
  AdminClient client(path);
  return client.command(line);
}

}  // namespace ringlb::test
