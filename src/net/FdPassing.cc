#include "ringlb/net/FdPassing.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringlb::net {

namespace {
// SCM_MAX_FD is 253: a message never carries more.
constexpr std::size_t kMaxDescriptorsPerMessage = 253;
}  // namespace

ssize_t sendWithDescriptor(int socket, std::string_view bytes, int descriptor) {
  if (bytes.empty()) return -EINVAL;
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &descriptor, sizeof(int));
  const ssize_t n = ::sendmsg(socket, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  return n < 0 ? -errno : n;
}

int receiveWithDescriptors(int socket, std::string_view terminator, std::chrono::milliseconds timeout,
                           std::string* data, std::vector<int>* descriptors) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (data->find(terminator) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return -ETIMEDOUT;
    pollfd pfd{socket, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return -errno;
    if (ready <= 0) continue;
    char buf[4096];
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxDescriptorsPerMessage)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return -errno;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        descriptors->push_back(fd);
      }
    }
    if ((msg.msg_flags & MSG_CTRUNC) != 0) return -EMSGSIZE;  // descriptors were lost: refuse
    if (n == 0) return -ECONNRESET;
    data->append(buf, static_cast<std::size_t>(n));
  }
  return 0;
}

}  // namespace ringlb::net
