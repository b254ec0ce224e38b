#include "support/TestBackend.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "support/DuplexProtocol.h"
#include "support/Pattern.h"

namespace ringlb::test {

std::string respondRequest(std::uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out;
}

namespace {
constexpr std::size_t kChunk = 64 * 1024;  // receive granularity
// Handlers are interrupted by the destructor, not by time; this only guards against a handler
// outliving a test binary that forgot to destroy its backend.
constexpr auto kHandlerDeadline = 10min;
}  // namespace

// The socket of one connection. Only the handler closes it; the destructor may shut it down
// concurrently, so both happen under the mutex (the fd number can't be reused in between).
struct TestBackend::Connection {
  std::mutex mutex;
  Fd fd;
  void shutdownBoth() {
    std::lock_guard lock(mutex);
    if (fd) ::shutdown(fd.get(), SHUT_RDWR);
  }
  void close(bool withReset) {
    std::lock_guard lock(mutex);
    if (withReset) {
      closeWithReset(fd);
    } else {
      fd.reset();
    }
  }
};

TestBackend::TestBackend(BackendOptions options) : options_(options) {
  const int family = options_.ipv6 ? AF_INET6 : AF_INET;
  listener_ = Fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!listener_ || !wake_) {
    std::fprintf(stderr, "TestBackend: socket/eventfd: %s\n", std::strerror(errno));
    return;
  }
  const int one = 1;
  ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (options_.ipv6) {
    auto* sa6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sa6->sin6_family = AF_INET6;
    sa6->sin6_addr = in6addr_loopback;
    len = sizeof *sa6;
  } else {
    auto* sa4 = reinterpret_cast<sockaddr_in*>(&ss);
    sa4->sin_family = AF_INET;
    sa4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *sa4;
  }
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(listener_.get(), 1024) != 0 ||
      ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    std::fprintf(stderr, "TestBackend: bind/listen: %s\n", std::strerror(errno));
    listener_.reset();
    return;
  }
  port_ = ntohs(options_.ipv6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                              : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TestBackend::~TestBackend() {
  stopping_ = true;
  if (wake_) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
  }
  if (acceptor_.joinable()) acceptor_.join();
  listener_.reset();
  std::vector<std::thread> handlers;
  {
    std::lock_guard lock(mutex_);
    for (auto& conn : open_) conn->shutdownBoth();
    handlers.swap(handlers_);
  }
  for (auto& t : handlers) t.join();
}

void TestBackend::acceptLoop() {
  while (!stopping_) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0 || stopping_) return;
    Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd) continue;  // e.g. ECONNABORTED: the client gave up before we accepted
    auto conn = std::make_shared<Connection>();
    conn->fd = std::move(fd);
    std::lock_guard lock(mutex_);
    ConnectionRecord rec;
    rec.index = records_.size();
    records_.push_back(rec);
    open_.push_back(conn);
    handlers_.emplace_back([this, conn, index = rec.index] { handle(conn, index); });
    changed_.notify_all();
  }
}

void TestBackend::handle(std::shared_ptr<Connection> conn, std::size_t index) {
  ConnectionRecord rec;
  rec.index = index;
  const int fd = conn->fd.get();
  bool reset = false;
  pause(options_.startDelay);
  switch (options_.mode) {
    case BackendMode::Echo: echo(fd, rec); break;
    case BackendMode::Duplex: duplex(fd, rec); break;
    case BackendMode::Source: source(fd, rec); break;
    case BackendMode::Sink: sink(fd, rec); break;
    case BackendMode::RespondAfterEof: respondAfterEof(fd, rec); break;
    case BackendMode::ResetAfterRead: reset = resetAfterRead(fd, rec); break;
    case BackendMode::SourceThenHold: sourceThenHold(fd, rec); break;
    case BackendMode::SourceThenReset: reset = sourceThenReset(fd, rec); break;
    case BackendMode::Respond: respond(fd, rec); break;
  }
  conn->close(reset);
  rec.finished = true;
  publish(rec);
}

void TestBackend::publish(const ConnectionRecord& rec) {
  std::lock_guard lock(mutex_);
  records_[rec.index] = rec;
  changed_.notify_all();
}

void TestBackend::pause(Clock::duration d) const {
  const Deadline until(d);
  while (!until.passed() && !stopping_) {
    std::this_thread::sleep_for(std::min<Clock::duration>(50ms, until.at() - Clock::now()));
  }
}

bool TestBackend::sendPattern(int fd, std::uint64_t seed, std::uint64_t n, Sha256& sha,
                              ConnectionRecord& rec) {
  const Pattern pattern(seed);
  std::vector<std::uint8_t> buf(std::max<std::size_t>(options_.chunk, 1));
  const Deadline deadline(kHandlerDeadline);
  for (std::uint64_t off = 0; off < n;) {
    const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), n - off));
    std::span<std::uint8_t> chunk(buf.data(), len);
    pattern.fill(off, chunk);
    if (!sendAll(fd, chunk, deadline, &rec.sendError)) {
      rec.sendFailed = true;
      return false;
    }
    sha.update(chunk);
    off += len;
    rec.bytesSent += len;
    liveBytesSent_ += len;
    if (options_.pace != Clock::duration::zero() && off < n) pause(options_.pace);
  }
  return true;
}

void TestBackend::echo(int fd, ConnectionRecord& rec) {
  Sha256 in, out;
  std::vector<std::uint8_t> buf(kChunk);
  const Deadline deadline(kHandlerDeadline);
  for (;;) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n == 0) {
      rec.readEnd = StreamEnd::Eof;
      shutdownWrite(fd);
      break;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      rec.readError = errno;
      rec.readEnd = errno == ECONNRESET ? StreamEnd::Reset : StreamEnd::Error;
      break;
    }
    std::span<const std::uint8_t> chunk(buf.data(), static_cast<std::size_t>(n));
    in.update(chunk);
    rec.bytesReceived += chunk.size();
    if (!sendAll(fd, chunk, deadline, &rec.sendError)) {
      rec.sendFailed = true;
      // Keep reading: the test may want to know how the inbound side ended (e.g. a reset).
      continue;
    }
    out.update(chunk);
    rec.bytesSent += chunk.size();
    liveBytesSent_ += chunk.size();
  }
  rec.receivedSha = in.finish();
  rec.sentSha = out.finish();
}

void TestBackend::duplex(int fd, ConnectionRecord& rec) {
  const Deadline deadline(kHandlerDeadline);
  auto header = recvExact(fd, duplex::kHeaderSize, deadline);
  if (!header) {
    rec.readEnd = StreamEnd::Error;
    return;
  }
  std::array<std::uint8_t, duplex::kHeaderSize> raw{};
  std::memcpy(raw.data(), header->data(), raw.size());
  const duplex::Header h = duplex::decode(raw);
  rec.seed = h.seed;
  // The sender works on its own copy of the record's send fields; merged after join.
  ConnectionRecord sent;
  std::thread sender([&] {
    Sha256 sha;
    if (sendPattern(fd, duplex::backendStreamSeed(h.seed), h.length, sha, sent)) shutdownWrite(fd);
    sent.sentSha = sha.finish();
  });
  const DrainResult in = drainUntilEnd(fd, deadline);
  sender.join();
  rec.bytesReceived = in.bytes;
  rec.receivedSha = in.sha;
  rec.readEnd = in.end;
  rec.readError = in.error;
  rec.bytesSent = sent.bytesSent;
  rec.sentSha = sent.sentSha;
  rec.sendFailed = sent.sendFailed;
  rec.sendError = sent.sendError;
}

void TestBackend::source(int fd, ConnectionRecord& rec) {
  Sha256 sha;
  if (sendPattern(fd, options_.seed, options_.bytes, sha, rec)) shutdownWrite(fd);
  rec.sentSha = sha.finish();
  sink(fd, rec);
}

void TestBackend::sourceThenHold(int fd, ConnectionRecord& rec) {
  Sha256 sha;
  sendPattern(fd, options_.seed, options_.bytes, sha, rec);
  rec.sentSha = sha.finish();
  sink(fd, rec);  // no FIN: silent until the peer ends the connection
}

bool TestBackend::sourceThenReset(int fd, ConnectionRecord& rec) {
  Sha256 sha;
  const bool sent = sendPattern(fd, options_.seed, options_.bytes, sha, rec);
  rec.sentSha = sha.finish();
  if (!sent) return false;
  // Wait for the peer's kernel to acknowledge every byte: from then on nothing of the stream
  // is ours any more, so the RST below cannot discard any of it.
  const Deadline deadline(options_.drainTimeout);
  while (unacknowledgedBytes(fd) > 0 && !deadline.passed() && !stopping_) {
    std::this_thread::sleep_for(1ms);
  }
  rec.sendQueueDrained = unacknowledgedBytes(fd) == 0;
  return true;
}

void TestBackend::respond(int fd, ConnectionRecord& rec) {
  Sha256 in, out;
  const Deadline deadline(kHandlerDeadline);
  for (;;) {
    std::array<std::uint8_t, 8> request{};
    std::size_t got = 0;
    while (got < request.size()) {
      const ssize_t n = ::recv(fd, request.data() + got, request.size() - got, 0);
      if (n > 0) {
        got += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) {
        rec.readEnd = got == 0 ? StreamEnd::Eof : StreamEnd::Error;  // EOF inside a request
      } else {
        rec.readError = errno;
        rec.readEnd = errno == ECONNRESET ? StreamEnd::Reset : StreamEnd::Error;
      }
      rec.receivedSha = in.finish();
      rec.sentSha = out.finish();
      if (rec.readEnd == StreamEnd::Eof) shutdownWrite(fd);
      return;
    }
    in.update(request);
    rec.bytesReceived += request.size();
    std::uint64_t length = 0;
    for (int i = 0; i < 8; ++i) length |= std::uint64_t{request[i]} << (8 * i);
    if (!sendPattern(fd, options_.seed, length, out, rec)) {
      // The peer went away mid-response: its reset (EPIPE/ECONNRESET) is how the stream ended.
      rec.receivedSha = in.finish();
      rec.sentSha = out.finish();
      rec.readError = rec.sendError;
      rec.readEnd = (rec.sendError == ECONNRESET || rec.sendError == EPIPE) ? StreamEnd::Reset
                                                                            : StreamEnd::Error;
      return;
    }
  }
}

void TestBackend::sink(int fd, ConnectionRecord& rec) {
  const DrainResult in = drainUntilEnd(fd, Deadline(kHandlerDeadline));
  rec.bytesReceived = in.bytes;
  rec.receivedSha = in.sha;
  rec.readEnd = in.end;
  rec.readError = in.error;
}

void TestBackend::respondAfterEof(int fd, ConnectionRecord& rec) {
  sink(fd, rec);
  if (rec.readEnd != StreamEnd::Eof) return;
  Sha256 sha;
  if (sendPattern(fd, options_.seed, options_.bytes, sha, rec)) shutdownWrite(fd);
  rec.sentSha = sha.finish();
}

bool TestBackend::resetAfterRead(int fd, ConnectionRecord& rec) {
  auto got = recvExact(fd, static_cast<std::size_t>(options_.bytes), Deadline(kHandlerDeadline));
  if (!got) {
    rec.readEnd = StreamEnd::Error;
    return false;
  }
  rec.bytesReceived = got->size();
  rec.receivedSha = Sha256::of(*got);
  return true;
}

std::size_t TestBackend::accepted() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

bool TestBackend::waitAccepted(std::size_t n, const Deadline& deadline) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_until(lock, deadline.at(), [&] { return records_.size() >= n; });
}

std::optional<ConnectionRecord> TestBackend::waitFinished(std::size_t index,
                                                          const Deadline& deadline) const {
  std::unique_lock lock(mutex_);
  const bool ok = changed_.wait_until(lock, deadline.at(), [&] {
    return index < records_.size() && records_[index].finished;
  });
  if (!ok) return std::nullopt;
  return records_[index];
}

std::optional<ConnectionRecord> TestBackend::waitSeed(std::uint64_t seed,
                                                      const Deadline& deadline) const {
  std::unique_lock lock(mutex_);
  std::optional<ConnectionRecord> found;
  changed_.wait_until(lock, deadline.at(), [&] {
    for (const auto& r : records_) {
      if (r.finished && r.seed == seed) {
        found = r;
        return true;
      }
    }
    return false;
  });
  return found;
}

std::vector<ConnectionRecord> TestBackend::records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

}  // namespace ringlb::test
