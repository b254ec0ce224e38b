#include "support/FaultTools.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <span>
#include <unordered_map>

#include "support/DuplexProtocol.h"
#include "support/Pattern.h"

namespace ringlb::test {

namespace {

// A listening socket on 127.0.0.1:0; *port gets the port (0 on failure).
Fd listenLoopback(int extraFlags, std::uint16_t* port) {
  *port = 0;
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | extraFlags, 0));
  if (!fd) {
    std::fprintf(stderr, "FaultTools: socket: %s\n", std::strerror(errno));
    return fd;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(fd.get(), 1024) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    std::fprintf(stderr, "FaultTools: bind/listen: %s\n", std::strerror(errno));
    return Fd();
  }
  *port = ntohs(sa.sin_port);
  return fd;
}

void wakeUp(const Fd& eventFd) {
  if (!eventFd) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(eventFd.get(), &one, sizeof one);
}

}  // namespace

// ---- ManualBackend ---------------------------------------------------------------------------

ManualBackend::ManualBackend() { listener_ = listenLoopback(0, &port_); }

Fd ManualBackend::accept(const Deadline& deadline) {
  if (!listener_) return Fd();
  for (;;) {
    pollfd p{listener_.get(), POLLIN, 0};
    const int n = ::poll(&p, 1, deadline.pollMs());
    if (n == 0) return Fd();
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fd();
    Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (fd) return fd;
    if (errno != EINTR && errno != ECONNABORTED) return Fd();
  }
}

// ---- probes ----------------------------------------------------------------------------------

StreamEnd writeUntilRefused(int fd, const Deadline& deadline, Clock::duration interval) {
  for (;;) {
    const char byte = 'x';
    const ssize_t n = ::send(fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return (errno == EPIPE || errno == ECONNRESET) ? StreamEnd::Reset : StreamEnd::Error;
    }
    if (deadline.passed()) return StreamEnd::Timeout;
    std::this_thread::sleep_for(interval);
  }
}

int openDescriptors(pid_t pid) {
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec);
  if (ec) return -1;
  int count = 0;
  for (const auto& entry : it) {
    (void)entry;
    ++count;
  }
  return count;
}

std::uint64_t raiseDescriptorLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur;
}

// ---- KillableBackend -------------------------------------------------------------------------

namespace {
constexpr std::size_t kChunk = 64 * 1024;
// Handlers end when killed or stopped, not by time; this only bounds a forgotten one.
constexpr auto kHandlerDeadline = 10min;
// How often a waiting handler looks at the kill/stop flags.
constexpr int kSliceMs = 20;
}  // namespace

KillableBackend::KillableBackend(std::uint64_t pauseAfter) : pauseAfter_(pauseAfter) {
  listener_ = listenLoopback(0, &port_);
  wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (listener_ && wake_) acceptor_ = std::thread([this] { acceptLoop(); });
}

KillableBackend::~KillableBackend() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  wakeUp(wake_);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> handlers;
  {
    std::lock_guard lock(mutex_);
    handlers.swap(handlers_);
  }
  for (auto& t : handlers) t.join();
}

void KillableBackend::acceptLoop() {
  while (!interrupted()) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0 || interrupted()) return;
    Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd) continue;
    std::lock_guard lock(mutex_);
    const std::size_t index = streams_.size();
    streams_.emplace_back();
    handlers_.emplace_back(
        [this, index, conn = std::move(fd)]() mutable { handle(std::move(conn), index); });
    changed_.notify_all();
  }
}

bool KillableBackend::waitFd(int fd, short events, const Deadline& deadline) const {
  while (!interrupted() && !deadline.passed()) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, std::min(kSliceMs, deadline.pollMs()));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // let the following call report the error
  }
  return false;
}

bool KillableBackend::sendRange(int fd, std::size_t index, std::uint64_t seed, std::uint64_t from,
                                std::uint64_t to) {
  const Pattern pattern(seed);
  std::vector<std::uint8_t> buf(kChunk);
  const Deadline deadline(kHandlerDeadline);
  for (std::uint64_t off = from; off < to;) {
    const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, to - off));
    pattern.fill(off, std::span(buf.data(), len));
    std::size_t done = 0;
    while (done < len) {
      if (interrupted()) return false;
      const ssize_t n = ::send(fd, buf.data() + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        std::lock_guard lock(mutex_);
        streams_[index].bytesSent += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!waitFd(fd, POLLOUT, deadline)) return false;
        continue;
      }
      return false;
    }
    off += len;
  }
  return true;
}

void KillableBackend::handle(Fd fd, std::size_t index) {
  const int s = fd.get();
  const Deadline deadline(kHandlerDeadline);
  // The header, read in kill-aware slices.
  std::array<std::uint8_t, duplex::kHeaderSize> raw{};
  std::size_t got = 0;
  bool ok = true;
  while (ok && got < raw.size()) {
    const ssize_t n = ::recv(s, raw.data() + got, raw.size() - got, MSG_DONTWAIT);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      ok = waitFd(s, POLLIN, deadline);
    } else {
      ok = false;
    }
  }
  if (ok) {
    const duplex::Header h = duplex::decode(raw);
    {
      std::lock_guard lock(mutex_);
      streams_[index].seed = h.seed;
      streams_[index].length = h.length;
    }
    const std::uint64_t first = std::min(h.length, pauseAfter_);
    ok = sendRange(s, index, h.seed, 0, first);
    if (ok && first < h.length) {
      {
        std::unique_lock lock(mutex_);
        streams_[index].paused = true;
        changed_.notify_all();
        changed_.wait(lock, [&] { return resumed_ || interrupted(); });
      }
      ok = sendRange(s, index, h.seed, first, h.length);
    }
  }
  if (ok) {
    shutdownWrite(s);
    {
      std::lock_guard lock(mutex_);
      streams_[index].completed = true;
    }
    // Read (and drop) until the peer's FIN.
    std::vector<std::uint8_t> sink(kChunk);
    for (;;) {
      const ssize_t n = ::recv(s, sink.data(), sink.size(), MSG_DONTWAIT);
      if (n > 0) continue;
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (waitFd(s, POLLIN, deadline)) continue;
      }
      break;
    }
  }
  const bool killed = killed_.load();
  if (killed) {
    closeWithReset(fd);
  } else {
    fd.reset();
  }
  std::lock_guard lock(mutex_);
  streams_[index].killed = killed;
  streams_[index].finished = true;
  changed_.notify_all();
}

std::size_t KillableBackend::paused() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(streams_.begin(), streams_.end(), [](const Stream& s) { return s.paused; }));
}

std::uint64_t KillableBackend::bytesSent() const {
  std::lock_guard lock(mutex_);
  std::uint64_t total = 0;
  for (const Stream& s : streams_) total += s.bytesSent;
  return total;
}

void KillableBackend::resume() {
  {
    std::lock_guard lock(mutex_);
    resumed_ = true;
  }
  changed_.notify_all();
}

void KillableBackend::kill() {
  {
    std::lock_guard lock(mutex_);
    killed_ = true;
  }
  changed_.notify_all();
  wakeUp(wake_);
  if (acceptor_.joinable()) acceptor_.join();
  listener_.reset();  // new connects are refused from now on
  std::vector<std::thread> handlers;
  {
    std::lock_guard lock(mutex_);
    handlers.swap(handlers_);
  }
  for (auto& t : handlers) t.join();  // each closes its socket with RST within a slice
}

bool KillableBackend::waitAllFinished(const Deadline& deadline) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_until(lock, deadline.at(), [&] {
    return std::all_of(streams_.begin(), streams_.end(), [](const Stream& s) { return s.finished; });
  });
}

std::vector<KillableBackend::Stream> KillableBackend::streams() const {
  std::lock_guard lock(mutex_);
  return streams_;
}

// ---- EchoSwarmBackend ------------------------------------------------------------------------

struct EchoSwarmBackend::Conn {
  Fd fd;
  std::string pending;  // read, not yet echoed
  bool peerEof = false;
  std::uint32_t interest = 0;
};

EchoSwarmBackend::EchoSwarmBackend() {
  listener_ = listenLoopback(SOCK_NONBLOCK, &port_);
  epoll_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
  wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!listener_ || !epoll_ || !wake_) {
    std::fprintf(stderr, "EchoSwarmBackend: setup failed: %s\n", std::strerror(errno));
    port_ = 0;
    return;
  }
  for (int fd : {listener_.get(), wake_.get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
  }
  thread_ = std::thread([this] { loop(); });
}

EchoSwarmBackend::~EchoSwarmBackend() {
  wakeUp(wake_);
  if (thread_.joinable()) thread_.join();
}

bool EchoSwarmBackend::waitOpenAtMost(std::uint64_t n, const Deadline& deadline) const {
  while (open_.load() > n) {
    if (deadline.passed()) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

void EchoSwarmBackend::loop() {
  std::unordered_map<int, Conn> conns;
  std::vector<char> buf(64 * 1024);
  auto finish = [&](int fd, bool reset) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    conns.erase(fd);  // closes it: a FIN, since we read to the end (or the peer reset it)
    if (reset) ++resets_;
    --open_;
  };
  // Echoes what is pending; then closes after the peer's FIN, or updates what to wait for.
  auto progress = [&](int fd, Conn& c) {
    while (!c.pending.empty()) {
      const ssize_t n = ::send(fd, c.pending.data(), c.pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        c.pending.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      finish(fd, true);
      return;
    }
    if (c.peerEof && c.pending.empty()) {
      finish(fd, false);
      return;
    }
    const std::uint32_t want = (c.peerEof ? 0u : std::uint32_t{EPOLLIN}) |
                               (c.pending.empty() ? 0u : std::uint32_t{EPOLLOUT});
    if (want != c.interest) {
      epoll_event ev{};
      ev.events = want;
      ev.data.fd = fd;
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
      c.interest = want;
    }
  };
  std::array<epoll_event, 256> events{};
  for (;;) {
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_.get()) return;  // conns closes what is still open
      if (fd == listener_.get()) {
        for (;;) {
          Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
          if (!conn) break;  // EAGAIN: the backlog is empty (or the client already left)
          const int cfd = conn.get();
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.fd = cfd;
          if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, cfd, &ev) != 0) continue;
          conns[cfd] = Conn{std::move(conn), {}, false, EPOLLIN};
          ++accepted_;
          ++open_;
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) continue;
      Conn& c = it->second;
      if (!c.peerEof) {
        bool failed = false;
        for (;;) {
          const ssize_t r = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
          if (r > 0) {
            c.pending.append(buf.data(), static_cast<std::size_t>(r));
            if (c.pending.size() >= buf.size()) break;  // echo before reading more
            continue;
          }
          if (r == 0) {
            c.peerEof = true;
            break;
          }
          if (errno == EINTR) continue;
          if (errno == EAGAIN) break;
          failed = true;
          break;
        }
        if (failed) {
          finish(fd, true);
          continue;
        }
      }
      progress(fd, c);
    }
  }
}

}  // namespace ringlb::test
