#include "support/BlackholeServer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace ringlb::test {

BlackholeServer::BlackholeServer() {
  listener_ = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_) return;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(listener_.get(), 0) != 0 ||
      ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    return;
  }
  port_ = ntohs(sa.sin_port);
  // With a backlog of 0 the kernel still queues one connection (the queue counts as full only
  // when its length exceeds the backlog), so connect until one hangs: from then on every SYN to
  // this port is dropped. Bounded: a handful of attempts of 200 ms each.
  for (int attempt = 0; attempt < 8 && !ready_; ++attempt) {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return;
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 &&
        errno == EINPROGRESS) {
      pollfd p{fd.get(), POLLOUT, 0};
      if (::poll(&p, 1, 200) == 0) ready_ = true;  // SYN dropped: the queue is full
    }
    fillers_.push_back(std::move(fd));
  }
}

}  // namespace ringlb::test
