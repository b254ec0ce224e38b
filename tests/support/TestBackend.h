#pragma once
// An in-process TCP server on 127.0.0.1:0 (or [::1]:0) standing in for a real backend. One acceptor thread;
// one handler thread per connection (two in Duplex mode, so both directions flow at once).
// Everything a connection saw is recorded and can be waited for by the test.
//
// Lifetime: the destructor stops accepting, shuts down every open connection (so blocked
// handlers return), and joins every thread. Handlers never crash the test process: sends use
// MSG_NOSIGNAL, every return code is checked, and a failure only ends that connection.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/Client.h"
#include "support/Deadline.h"
#include "support/Fd.h"
#include "support/Sha256.h"

namespace ringlb::test {

enum class BackendMode {
  Echo,             // echo every byte back; on EOF send FIN and close
  Duplex,           // support/DuplexProtocol.h: send `length` bytes while reading until EOF
  Source,           // send `bytes` bytes of Pattern(seed) as fast as accepted, FIN, then read to EOF
  Sink,             // read until EOF, then close
  RespondAfterEof,  // read until EOF, then send `bytes` bytes of Pattern(seed), then close
  ResetAfterRead,   // read `bytes` bytes, then close with RST (SO_LINGER 0)
  SourceThenHold,   // send `bytes` bytes of Pattern(seed), then no FIN: the connection stays
                    // open and silent, reading until the peer ends it
  SourceThenReset,  // send `bytes` bytes of Pattern(seed), wait (up to `drainTimeout`) until the
                    // peer acknowledged every one (SIOCOUTQ 0), then close with RST
  Respond,          // request/response: read an 8-byte request (respondRequest(n)), answer with
                    // the first n bytes of Pattern(seed), repeat; silent and open between
                    // requests; on EOF send FIN and close
};

// The request of BackendMode::Respond asking for n bytes: n as a little-endian u64.
std::string respondRequest(std::uint64_t n);

struct BackendOptions {
  BackendMode mode = BackendMode::Echo;
  std::uint64_t bytes = 0;  // see the mode
  std::uint64_t seed = 1;   // Pattern seed of the modes that send a pattern
  bool ipv6 = false;        // listen on [::1] instead of 127.0.0.1
  // Every mode that sends a pattern (Duplex included): bytes per send, and a pause after each
  // chunk (zero: as fast as the socket takes them; non-zero: a trickling server).
  std::size_t chunk = 64 * 1024;
  Clock::duration pace = Clock::duration::zero();
  // Every mode: the handler leaves a new connection untouched (unread, unwritten) this long
  // before it starts: a busy backend. Keep it short; the destructor waits for it.
  Clock::duration startDelay = Clock::duration::zero();
  Clock::duration drainTimeout = 20s;  // SourceThenReset: bound on waiting for the ACKs
};

// What one accepted connection saw. Counters are final once `finished`.
struct ConnectionRecord {
  std::size_t index = 0;  // accept order, from 0
  std::uint64_t seed = 0; // Duplex: from the client's header
  std::uint64_t bytesReceived = 0;
  Digest receivedSha{};
  std::uint64_t bytesSent = 0;
  Digest sentSha{};
  bool sendFailed = false;
  int sendError = 0;
  StreamEnd readEnd = StreamEnd::Timeout;  // how the inbound stream ended
  int readError = 0;
  bool finished = false;  // handler done and socket closed
  // SourceThenReset: every sent byte was acknowledged before the RST (false: the wait timed
  // out, and the RST discarded what was still unacknowledged).
  bool sendQueueDrained = false;
};

class TestBackend {
 public:
  explicit TestBackend(BackendOptions options = {});
  ~TestBackend();
  TestBackend(const TestBackend&) = delete;
  TestBackend& operator=(const TestBackend&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const {
    return (options_.ipv6 ? "[::1]:" : "127.0.0.1:") + std::to_string(port_);
  }

  std::size_t accepted() const;
  // Bytes the kernel accepted from every handler's send() so far (live, not only finished).
  std::uint64_t bytesSent() const { return liveBytesSent_.load(); }

  // Waits until n connections were accepted.
  bool waitAccepted(std::size_t n, const Deadline& deadline) const;
  // Waits until connection #index (accept order) finished.
  std::optional<ConnectionRecord> waitFinished(std::size_t index, const Deadline& deadline) const;
  // Waits until the Duplex connection whose header carried `seed` finished.
  std::optional<ConnectionRecord> waitSeed(std::uint64_t seed, const Deadline& deadline) const;
  std::vector<ConnectionRecord> records() const;

 private:
  struct Connection;

  void acceptLoop();
  void handle(std::shared_ptr<Connection> conn, std::size_t index);
  // Mode handlers: fill the record; the caller closes the socket and publishes the record.
  void echo(int fd, ConnectionRecord& rec);
  void duplex(int fd, ConnectionRecord& rec);
  void source(int fd, ConnectionRecord& rec);
  void sink(int fd, ConnectionRecord& rec);
  void respondAfterEof(int fd, ConnectionRecord& rec);
  bool resetAfterRead(int fd, ConnectionRecord& rec);
  void sourceThenHold(int fd, ConnectionRecord& rec);
  bool sourceThenReset(int fd, ConnectionRecord& rec);
  void respond(int fd, ConnectionRecord& rec);
  // Sends the first `n` bytes of Pattern(seed) in options_.chunk pieces paced by options_.pace,
  // hashing them into `sha` and adding them to rec.bytesSent; false if the send failed.
  bool sendPattern(int fd, std::uint64_t seed, std::uint64_t n, Sha256& sha,
                   ConnectionRecord& rec);
  // Sleeps for `d`, cut short when the backend is being destroyed.
  void pause(Clock::duration d) const;
  void publish(const ConnectionRecord& rec);

  const BackendOptions options_;
  Fd listener_;
  Fd wake_;  // eventfd: tells the acceptor to stop
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> liveBytesSent_{0};

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<ConnectionRecord> records_;          // index = accept order
  std::vector<std::shared_ptr<Connection>> open_;  // for shutdown in the destructor
  std::vector<std::thread> handlers_;
  std::thread acceptor_;
};

}  // namespace ringlb::test
