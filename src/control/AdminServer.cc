#include "ringlb/control/AdminServer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ringlb/net/FdPassing.h"

namespace ringlb::control {

namespace {

bool fillAddress(const std::string& path, sockaddr_un& addr) {
  addr = sockaddr_un{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return true;
}

// Whether something accepts connections on the socket at `path`.
bool someoneListens(const sockaddr_un& addr) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool live = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return live;
}

}  // namespace

std::unique_ptr<AdminServer> AdminServer::open(io::EventLoop& loop, const config::Admin& admin,
                                               AdminCommands& commands, std::string* error) {
  sockaddr_un addr{};
  if (!fillAddress(admin.socket, addr)) {
    *error = "admin socket path '" + admin.socket + "' is empty or too long";
    return nullptr;
  }
  struct stat st{};
  if (::lstat(admin.socket.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      *error = "admin socket path '" + admin.socket + "' exists and is not a socket";
      return nullptr;
    }
    if (someoneListens(addr)) {
      *error = "admin socket '" + admin.socket + "' is in use (is another ringlb running?)";
      return nullptr;
    }
    ::unlink(admin.socket.c_str());  // stale: left by a process that died
  }
  std::unique_ptr<AdminServer> server(new AdminServer(loop, commands));
  server->listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (server->listener_ < 0) {
    *error = std::string("admin socket: ") + std::strerror(errno);
    return nullptr;
  }
  // The mode is applied before anyone can connect: bind under a umask that leaves nothing open,
  // then chmod to the configured mode.
  const mode_t old = ::umask(0777);
  const int bound = ::bind(server->listener_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int bindErrno = errno;
  ::umask(old);
  if (bound != 0) {
    *error = "admin socket '" + admin.socket + "': bind: " + std::strerror(bindErrno);
    return nullptr;
  }
  server->path_ = admin.socket;
  if (::chmod(admin.socket.c_str(), static_cast<mode_t>(admin.mode)) != 0 ||
      ::listen(server->listener_, 64) != 0) {
    *error = "admin socket '" + admin.socket + "': " + std::strerror(errno);
    return nullptr;
  }
  AdminServer* self = server.get();
  if (!loop.add(server->listener_, EPOLLIN, [self](uint32_t) { self->onAccept(); })) {
    *error = std::string("admin socket: epoll: ") + std::strerror(errno);
    return nullptr;
  }
  spdlog::info("admin socket listening on {}", admin.socket);
  return server;
}

AdminServer::~AdminServer() {
  // The file goes first, then the clients: a process taking over (binary upgrade) waits for its
  // connection to close before it creates its own socket at this path, which must not be
  // unlinked afterwards.
  if (!path_.empty()) ::unlink(path_.c_str());
  if (listener_ >= 0) {
    loop_.remove(listener_);
    ::close(listener_);
  }
  while (!clients_.empty()) drop(clients_.begin()->first);
}

void AdminServer::onAccept() {
  for (;;) {
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        spdlog::warn("admin socket: accept: {}", std::strerror(errno));
      }
      return;
    }
    if (clients_.size() >= kMaxClients) {
      static constexpr char kBusy[] = "error: too many admin clients, try again\n\n";
      [[maybe_unused]] const ssize_t n = ::send(fd, kBusy, sizeof kBusy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    Client& client = clients_[fd];
    client.id = nextClientId_++;
    if (!loop_.add(fd, EPOLLIN, [this, fd](uint32_t events) { onClient(fd, events); })) {
      clients_.erase(fd);
      ::close(fd);
      continue;
    }
    armIdle(fd, client);
  }
}

void AdminServer::armIdle(int fd, Client& client) {
  if (client.idle != 0) loop_.cancel(client.idle);
  client.idle = loop_.after(kIdleTimeout, [this, fd] {
    const auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    it->second.idle = 0;
    drop(fd);
  });
}

void AdminServer::onClient(int fd, uint32_t events) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& client = it->second;
  if ((events & EPOLLOUT) != 0) flush(fd, client);
  if (!clients_.contains(fd)) return;
  // Hung up for good while we only had replies left for it: nobody will read them.
  if ((events & (EPOLLHUP | EPOLLERR)) != 0 && client.closing) {
    drop(fd);
    return;
  }
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && !client.closing) readFrom(fd, client);
}

void AdminServer::readFrom(int fd, Client& client) {
  char buf[4096];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n < 0 && errno != EAGAIN && errno != EINTR) {
    drop(fd);  // the client is gone: nothing to answer
    return;
  }
  if (n < 0) return;
  if (n == 0) {
    // Half-closed (`echo cmd | nc -U`) or gone: what it sent in full still gets its replies
    // (a closed reader makes the send fail and drops it); an unfinished last line does not.
    client.in.erase(client.in.rfind('\n') == std::string::npos ? 0 : client.in.rfind('\n') + 1);
    client.closing = true;
    processLines(fd, client);
    return;
  }
  armIdle(fd, client);
  client.in.append(buf, static_cast<std::size_t>(n));
  processLines(fd, client);
}

AdminCommands::Reply AdminServer::replyTo(int fd, uint64_t id) {
  return [this, alive = std::weak_ptr<int>(alive_), fd, id](std::string reply) {
    if (alive.expired()) return;
    const auto it = clients_.find(fd);
    if (it == clients_.end() || it->second.id != id) return;  // it left while we worked
    Client& client = it->second;
    client.out += reply;
    client.waiting = false;
    // A reply that comes after execute() returned: run the lines queued behind it, and send.
    if (client.resumeOnReply) {
      client.resumeOnReply = false;
      processLines(fd, client);
    }
  };
}

void AdminServer::processLines(int fd, Client& client) {
  std::size_t start = 0;
  while (!client.waiting) {
    const std::size_t nl = client.in.find('\n', start);
    if (nl == std::string::npos || nl - start > kMaxLine) break;
    const std::string_view line = std::string_view(client.in).substr(start, nl - start);
    client.waiting = true;
    const std::size_t replyAt = client.out.size();
    std::vector<int> descriptors;
    commands_.execute(line, replyTo(fd, client.id), &descriptors);
    if (!descriptors.empty()) {
      // Replied at once (only `_getsocks` has descriptors): descriptor i goes with the first
      // byte of the reply's line i + 1.
      // Copies: the descriptors may be sent later (a full socket buffer) and the originals
      // closed meanwhile (a reload retiring a listener); a copy keeps the socket it named.
      std::size_t at = client.out.find('\n', replyAt);
      for (int d : descriptors) {
        if (at == std::string::npos || at + 1 >= client.out.size()) break;
        const int copy = ::fcntl(d, F_DUPFD_CLOEXEC, 0);
        if (copy < 0) {
          spdlog::warn("admin socket: cannot copy a descriptor to send: {}", std::strerror(errno));
          break;  // the receiver sees fewer descriptors than lines and refuses the reply
        }
        client.attachments.emplace_back(at + 1, copy);
        at = client.out.find('\n', at + 1);
      }
    }
    start = nl + 1;
    if (client.waiting) client.resumeOnReply = true;
  }
  client.in.erase(0, start);
  if (!client.waiting && client.in.size() > kMaxLine) {
    client.out += "error: line longer than " + std::to_string(kMaxLine) + " bytes; closing\n\n";
    client.in.clear();
    client.closing = true;
  }
  flush(fd, client);
}

void AdminServer::flush(int fd, Client& client) {
  while (!client.out.empty()) {
    // Bytes up to the next descriptor's byte go plainly; that byte (and what follows, up to the
    // next one) goes with its descriptor.
    ssize_t n = 0;
    const bool attach = !client.attachments.empty() && client.attachments.front().first == 0;
    std::size_t length = client.out.size();
    const std::size_t nextAt = client.attachments.size() > (attach ? 1u : 0u)
                                   ? client.attachments[attach ? 1 : 0].first
                                   : std::string::npos;
    if (nextAt != std::string::npos) length = std::min(length, nextAt);
    if (attach) {
      n = net::sendWithDescriptor(fd, std::string_view(client.out).substr(0, length), client.attachments.front().second);
      if (n < 0) errno = static_cast<int>(-n);
    } else {
      n = ::send(fd, client.out.data(), length, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      drop(fd);
      return;
    }
    if (attach) {
      ::close(client.attachments.front().second);  // our copy: the peer has its own now
      client.attachments.pop_front();
    }
    for (auto& a : client.attachments) a.first -= static_cast<std::size_t>(n);
    client.out.erase(0, static_cast<std::size_t>(n));
  }
  if (client.out.empty() && client.closing && !client.waiting) {
    drop(fd);
    return;
  }
  if (client.out.size() > kMaxPendingOutput) {
    drop(fd);  // it does not read its replies: stop working for it
    return;
  }
  // A closing client, or one whose reply is awaited, is only written to: its unread input must
  // not keep waking the loop (nor pile up behind the awaited reply).
  const uint32_t out = client.out.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT);
  loop_.modify(fd, client.closing || client.waiting ? out : (EPOLLIN | out));
}

void AdminServer::drop(int fd) {
  const auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  if (it->second.idle != 0) loop_.cancel(it->second.idle);
  for (const auto& attachment : it->second.attachments) ::close(attachment.second);
  clients_.erase(it);
  loop_.remove(fd);
  ::close(fd);
}

}  // namespace ringlb::control
