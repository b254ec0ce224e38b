#include "support/FanoutSource.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "support/Pattern.h"

namespace ringlb::test {

FanoutSource::FanoutSource(std::uint64_t bytes, std::uint64_t seed) : content_(bytes) {
  Pattern(seed).fill(0, content_);
  listener_ = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  epoll_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
  wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!listener_ || !epoll_ || !wake_) {
    std::fprintf(stderr, "FanoutSource: socket/epoll/eventfd: %s\n", std::strerror(errno));
    return;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0 ||
      ::listen(listener_.get(), 4096) != 0 ||
      ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    std::fprintf(stderr, "FanoutSource: bind/listen: %s\n", std::strerror(errno));
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener_.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &ev);
  ev.data.fd = wake_.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  port_ = ntohs(sa.sin_port);
  thread_ = std::thread([this] { run(); });
}

FanoutSource::~FanoutSource() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
    thread_.join();
  }
}

void FanoutSource::run() {
  std::unordered_map<int, std::uint64_t> sent;  // open connection -> bytes sent so far
  auto finish = [&](int fd, bool ok) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);  // nothing unread (the peer sends nothing): a FIN after the queued bytes
    sent.erase(fd);
    ++(ok ? completed_ : failed_);
  };
  std::vector<epoll_event> events(256);
  for (;;) {
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_.get()) {
        for (auto& [open, bytes] : sent) ::close(open);
        return;
      }
      if (fd == listener_.get()) {
        for (;;) {
          const int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          epoll_event ev{};
          ev.events = EPOLLOUT;  // level-triggered: writable again means more room
          ev.data.fd = c;
          ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c, &ev);
          sent.emplace(c, 0);
        }
        continue;
      }
      auto it = sent.find(fd);
      if (it == sent.end()) continue;
      std::uint64_t& done = it->second;
      const ssize_t w = ::send(fd, content_.data() + done, content_.size() - done,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) done += static_cast<std::uint64_t>(w);
      if (done == content_.size()) {
        finish(fd, true);
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        finish(fd, false);
      }
    }
  }
}

}  // namespace ringlb::test
