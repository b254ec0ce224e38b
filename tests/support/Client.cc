#include "support/Client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <thread>
#include <vector>

namespace ringlb::test {

const char* toString(StreamEnd end) {
  switch (end) {
    case StreamEnd::Eof: return "EOF";
    case StreamEnd::Reset: return "reset";
    case StreamEnd::Timeout: return "timeout";
    case StreamEnd::Error: return "error";
  }
  return "?";
}

namespace {

// Waits for `events` on fd; false if the deadline passed. Retries EINTR.
bool waitFor(int fd, short events, const Deadline& deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, deadline.pollMs());
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return true;  // let the following syscall report the error
  }
}

StreamEnd classify(int err) {
  return (err == ECONNRESET || err == EPIPE) ? StreamEnd::Reset : StreamEnd::Error;
}

}  // namespace

namespace {

ConnectResult connectTuned(const net::Address& to, Clock::duration timeout,
                           const std::string& sourceIp, const SocketTuning& tuning) {
  ConnectResult r;
  Fd fd(::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    r.error = errno;
    return r;
  }
  if (tuning.receiveBuffer > 0 &&
      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &tuning.receiveBuffer,
                   sizeof tuning.receiveBuffer) != 0) {
    r.error = errno;
    return r;
  }
  if (tuning.maxSegment > 0 &&
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_MAXSEG, &tuning.maxSegment,
                   sizeof tuning.maxSegment) != 0) {
    r.error = errno;
    return r;
  }
  if (!sourceIp.empty()) {
    auto from = net::Address::parse(to.family() == AF_INET6 ? "[" + sourceIp + "]:0"
                                                            : sourceIp + ":0");
    if (!from || ::bind(fd.get(), from->sockaddr_ptr(), from->length()) != 0) {
      r.error = from ? errno : EINVAL;
      return r;
    }
  }
  if (::connect(fd.get(), to.sockaddr_ptr(), to.length()) != 0) {
    if (errno != EINPROGRESS) {
      r.error = errno;
      return r;
    }
    if (!waitFor(fd.get(), POLLOUT, Deadline(timeout))) {
      r.error = ETIMEDOUT;
      return r;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      r.error = err;
      return r;
    }
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  r.fd = std::move(fd);
  return r;
}

}  // namespace

ConnectResult connectTcp(const net::Address& to, Clock::duration timeout,
                         const std::string& sourceIp) {
  return connectTuned(to, timeout, sourceIp, SocketTuning{});
}

ConnectResult connectLocal(std::uint16_t port, Clock::duration timeout,
                           const std::string& sourceIp) {
  auto to = net::Address::parse("127.0.0.1:" + std::to_string(port));
  return connectTcp(*to, timeout, sourceIp);
}

ConnectResult connectLocal(std::uint16_t port, const SocketTuning& tuning,
                           Clock::duration timeout) {
  auto to = net::Address::parse("127.0.0.1:" + std::to_string(port));
  return connectTuned(*to, timeout, "", tuning);
}

bool sendAll(int fd, std::span<const std::uint8_t> data, const Deadline& deadline, int* error) {
  std::size_t done = 0;
  while (done < data.size()) {
    // MSG_DONTWAIT + poll: a blocking send of a large buffer could outlive the deadline.
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!waitFor(fd, POLLOUT, deadline)) {
        if (error) *error = ETIMEDOUT;
        return false;
      }
      continue;
    }
    if (error) *error = n < 0 ? errno : EPIPE;
    return false;
  }
  return true;
}

bool sendAll(int fd, std::string_view data, const Deadline& deadline, int* error) {
  return sendAll(fd, std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()),
                 deadline, error);
}

std::optional<std::string> recvExact(int fd, std::size_t n, const Deadline& deadline) {
  std::string out(n, '\0');
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::recv(fd, out.data() + done, n - done, MSG_DONTWAIT);
    if (r > 0) {
      done += static_cast<std::size_t>(r);
      continue;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!waitFor(fd, POLLIN, deadline)) return std::nullopt;
      continue;
    }
    return std::nullopt;
  }
  return out;
}

namespace {

// The common loop of readUntilEnd and drainUntilEnd: calls sink(ptr, n) for each chunk.
template <typename Sink>
StreamEnd readLoop(int fd, const Deadline& deadline, int* error, Sink&& sink) {
  std::vector<std::uint8_t> buf(256 * 1024);
  for (;;) {
    const ssize_t r = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (r > 0) {
      sink(buf.data(), static_cast<std::size_t>(r));
      continue;
    }
    if (r == 0) return StreamEnd::Eof;
    if (errno == EAGAIN || errno == EINTR) {
      if (!waitFor(fd, POLLIN, deadline)) return StreamEnd::Timeout;
      continue;
    }
    *error = errno;
    return classify(errno);
  }
}

}  // namespace

ReadResult readUntilEnd(int fd, const Deadline& deadline, std::size_t maxBytes) {
  ReadResult r;
  r.end = readLoop(fd, deadline, &r.error, [&](const std::uint8_t* p, std::size_t n) {
    if (r.data.size() < maxBytes) {
      r.data.append(reinterpret_cast<const char*>(p), std::min(n, maxBytes - r.data.size()));
    }
  });
  return r;
}

DrainResult drainUntilEnd(int fd, const Deadline& deadline) {
  DrainResult r;
  Sha256 sha;
  r.end = readLoop(fd, deadline, &r.error, [&](const std::uint8_t* p, std::size_t n) {
    sha.update(std::span(p, n));
    r.bytes += n;
  });
  r.sha = sha.finish();
  return r;
}

std::vector<DrainResult> drainEach(std::span<const int> fds, const Deadline& deadline,
                                   std::uint64_t want) {
  std::vector<Sha256> shas(fds.size());
  std::vector<DrainResult> results =
      drainEachWith(fds, deadline, want, [&shas](std::size_t i, std::span<const std::uint8_t> b) {
        shas[i].update(b);
      });
  for (std::size_t i = 0; i < fds.size(); ++i) results[i].sha = shas[i].finish();
  return results;
}

std::vector<DrainResult> drainEachWith(
    std::span<const int> fds, const Deadline& deadline, std::uint64_t want,
    const std::function<void(std::size_t, std::span<const std::uint8_t>)>& consume) {
  std::vector<DrainResult> results(fds.size());
  std::vector<std::size_t> open;  // indices still being read
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (want > 0) open.push_back(i);
  }
  // At most 64 KiB per socket and turn: with hundreds of sockets, a turn (and with it the time
  // any one socket waits to be read) stays short even where hashing is slow (sanitizers).
  std::vector<std::uint8_t> buf(64 * 1024);
  std::vector<pollfd> polled;
  while (!open.empty()) {
    polled.clear();
    for (std::size_t i : open) polled.push_back(pollfd{fds[i], POLLIN, 0});
    const int ready = ::poll(polled.data(), polled.size(), deadline.pollMs());
    if (ready < 0 && errno != EINTR) break;
    if (ready == 0 && deadline.passed()) break;
    std::vector<std::size_t> still;
    for (std::size_t k = 0; k < open.size(); ++k) {
      const std::size_t i = open[k];
      DrainResult& r = results[i];
      bool done = false;
      if (polled[k].revents != 0) {
        // One read per turn and socket, so that no busy socket delays the others.
        const auto room = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), want - r.bytes));
        const ssize_t n = ::recv(fds[i], buf.data(), room, MSG_DONTWAIT);
        if (n > 0) {
          consume(i, std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)));
          r.bytes += static_cast<std::uint64_t>(n);
          done = r.bytes >= want;
        } else if (n == 0) {
          r.end = StreamEnd::Eof;
          done = true;
        } else if (errno != EAGAIN && errno != EINTR) {
          r.error = errno;
          r.end = classify(errno);
          done = true;
        }
      }
      if (!done) still.push_back(i);
    }
    open.swap(still);
  }
  return results;
}

long queuedBytes(int fd) {
  int queued = 0;
  return ::ioctl(fd, SIOCINQ, &queued) == 0 ? queued : -1;
}

long unacknowledgedBytes(int fd) {
  int queued = 0;
  return ::ioctl(fd, SIOCOUTQ, &queued) == 0 ? queued : -1;
}

bool waitAcknowledged(int fd, const Deadline& deadline) {
  for (;;) {
    const long queued = unacknowledgedBytes(fd);
    if (queued == 0) return true;
    if (queued < 0 || deadline.passed()) return false;
    std::this_thread::sleep_for(1ms);
  }
}

bool readableBefore(int fd, const Deadline& deadline) {
  return waitFor(fd, POLLIN, deadline);
}

void shutdownWrite(int fd) { ::shutdown(fd, SHUT_WR); }

void closeWithReset(Fd& fd) {
  if (!fd) return;
  const linger lg{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  fd.reset();
}

bool echoes(int fd, std::string_view payload) {
  return sendAll(fd, payload, Deadline(5s)) && recvExact(fd, payload.size(), Deadline(5s)) == payload;
}

bool served(const net::Address& to) {
  ConnectResult c = connectTcp(to, 5s);
  return c.fd && echoes(c.fd.get(), "ping");
}

bool served(std::uint16_t port) {
  ConnectResult c = connectLocal(port);
  return c.fd && echoes(c.fd.get(), "ping");
}

}  // namespace ringlb::test
