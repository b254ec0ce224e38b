#include "support/Client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
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

ConnectResult connectTcp(const net::Address& to, Clock::duration timeout,
                         const std::string& sourceIp) {
  ConnectResult r;
  Fd fd(::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
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

ConnectResult connectLocal(std::uint16_t port, Clock::duration timeout,
                           const std::string& sourceIp) {
  auto to = net::Address::parse("127.0.0.1:" + std::to_string(port));
  return connectTcp(*to, timeout, sourceIp);
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

}  // namespace ringlb::test
