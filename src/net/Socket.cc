#include "ringlb/net/Socket.h"

#include <linux/filter.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

namespace ringlb::net {
namespace {

// One integer TCP-level option; 0 or -errno.
int setTcpOption(int fd, int option, int value) {
  return ::setsockopt(fd, IPPROTO_TCP, option, &value, sizeof value) == 0 ? 0 : -errno;
}

}  // namespace

int createListener(const Address& address, int backlog) {
  const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int one = 1;
  int rc = ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (rc == 0) rc = ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  // Accepted sockets inherit TCP_NODELAY: relayed bytes must not wait for Nagle on the client
  // side either.
  if (rc == 0) rc = ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (rc == 0 && address.family() == AF_INET6) {
    rc = ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (rc == 0) rc = ::bind(fd, address.sockaddr_ptr(), address.length());
  if (rc == 0) rc = ::listen(fd, backlog);
  if (rc != 0) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

Address localAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Address peerAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

int createStreamSocket(int family) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int one = 1;
  // Relayed bytes must not wait for Nagle: the client already decided when to send them.
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool hasPendingData(int fd) {
  char byte;
  return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

long unsentBytes(int fd) {
  // After a reset the send queue is purged but SIOCOUTQ (write_seq - snd_una) keeps its last
  // value forever: ask for the state first.
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -errno;
  if (info.tcpi_state == TCP_CLOSE) return -ENOTCONN;
  int n = 0;
  if (::ioctl(fd, SIOCOUTQ, &n) != 0) return -errno;
  return n;
}

void pushPending(int fd) { (void)setTcpOption(fd, TCP_NODELAY, 1); }

int setSmartAccept(int listenerFd, bool on) { return setTcpOption(listenerFd, TCP_QUICKACK, on ? 0 : 1); }

int setDeferAccept(int listenerFd, bool on) { return setTcpOption(listenerFd, TCP_DEFER_ACCEPT, on ? 1 : 0); }

int holdHandshakeAck(int fd) { return setTcpOption(fd, TCP_QUICKACK, 0); }

int sendHeldAck(int fd) { return setTcpOption(fd, TCP_QUICKACK, 1); }

bool isReadable(int fd) {
  char byte;
  return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

int listenerExists(const Address& address) {
  const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (address.family() == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  const int rc = ::bind(fd, address.sockaddr_ptr(), address.length()) == 0 ? 0 : -errno;
  ::close(fd);
  if (rc == -EADDRINUSE) return 1;
  return rc;
}

int refuseNewConnections(int fd) {
  // Classic BPF: one instruction, "return 0" (keep 0 bytes: drop).
  sock_filter drop{static_cast<uint16_t>(BPF_RET | BPF_K), 0, 0, 0};
  const sock_fprog program{1, &drop};
  return ::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == 0 ? 0 : -errno;
}

void closeWithReset(int fd) {
  const linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(fd);
}

}  // namespace ringlb::net
