#pragma once
// Tools of the fault suite (timeouts, killed backends, abandoned connections) that TestBackend
// does not offer: a backend the test scripts by hand, a backend that dies mid-transfer like a
// crashed process, an echo server for thousands of short connections, and probes of a process's
// descriptors and of our own descriptor limit.
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/Client.h"
#include "support/Deadline.h"
#include "support/Fd.h"
#include "support/Sha256.h"

namespace ringlb::test {

// A listener on 127.0.0.1:0 whose connections the test accepts and drives itself, for a backend
// behaviour no TestBackend mode has (answer nothing, half-close and keep reading, trickle).
class ManualBackend {
 public:
  ManualBackend();
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // The next connection, in blocking mode; invalid if none came before the deadline.
  Fd accept(const Deadline& deadline);

 private:
  Fd listener_;
  std::uint16_t port_ = 0;
};

// For a connection whose inbound stream has already ended: writes one byte every `interval`
// until a write fails, i.e. the peer closed or reset its socket (a closed socket answers the
// first byte with RST, so the next write fails). Reset if a write failed (EPIPE/ECONNRESET),
// Error for another errno, Timeout if the peer still took bytes at the deadline.
StreamEnd writeUntilRefused(int fd, const Deadline& deadline, Clock::duration interval = 50ms);

// Entries of /proc/PID/fd: the process's open descriptors; -1 if unreadable.
int openDescriptors(pid_t pid);

// Raises this process's soft RLIMIT_NOFILE to its hard limit; returns the soft limit in force.
std::uint64_t raiseDescriptorLimit();

// A backend of streams that dies mid-transfer the way a crashed server does. Each connection
// reads a support/DuplexProtocol.h header {seed, length}, sends the first `pauseAfter` bytes of
// Pattern(seed), waits for resume(), sends the rest and a FIN, then reads until EOF.
// kill() resets every connection (SO_LINGER 0: RST, unsent bytes dropped) and closes the
// listener, so new connects are refused; it returns once every socket is closed.
// One thread per connection: for a handful of streams, not thousands.
class KillableBackend {
 public:
  struct Stream {
    std::uint64_t seed = 0;
    std::uint64_t length = 0;     // asked for in the header
    std::uint64_t bytesSent = 0;  // accepted by the kernel
    bool paused = false;          // sent its first part, waited for resume() or kill()
    bool completed = false;       // sent all `length` bytes and its FIN
    bool killed = false;          // closed with RST by kill()
    bool finished = false;        // handler done, socket closed
  };

  explicit KillableBackend(std::uint64_t pauseAfter);
  ~KillableBackend();
  KillableBackend(const KillableBackend&) = delete;
  KillableBackend& operator=(const KillableBackend&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Connections paused after their first part, so far.
  std::size_t paused() const;
  // Total bytes the kernel accepted from every stream so far.
  std::uint64_t bytesSent() const;
  // Lets every paused stream (and every later one) send the rest.
  void resume();
  void kill();
  // Waits until every accepted connection's handler is done.
  bool waitAllFinished(const Deadline& deadline) const;
  std::vector<Stream> streams() const;

 private:
  void acceptLoop();
  void handle(Fd fd, std::size_t index);
  // Sends bytes [from, to) of Pattern(seed); false if killed, stopped or the send failed.
  bool sendRange(int fd, std::size_t index, std::uint64_t seed, std::uint64_t from,
                 std::uint64_t to);
  // Waits for `events` on fd in short slices, giving up when killed or stopping.
  bool waitFd(int fd, short events, const Deadline& deadline) const;
  bool interrupted() const { return killed_.load() || stopping_.load(); }

  const std::uint64_t pauseAfter_;
  Fd listener_;
  Fd wake_;  // eventfd: tells the acceptor to stop
  std::uint16_t port_ = 0;
  std::atomic<bool> killed_{false};
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool resumed_ = false;
  std::vector<Stream> streams_;  // index = accept order
  std::vector<std::thread> handlers_;
  std::thread acceptor_;
};

// An echo server for thousands of short connections: one thread, epoll, non-blocking sockets
// (TestBackend's thread per connection does not scale to 2,000 of them). Echoes every byte;
// after the peer's FIN it sends what is left, then FIN, and closes; a reset or error closes at
// once. Counts what it saw, so a test can check that every connection was closed.
class EchoSwarmBackend {
 public:
  EchoSwarmBackend();
  ~EchoSwarmBackend();
  EchoSwarmBackend(const EchoSwarmBackend&) = delete;
  EchoSwarmBackend& operator=(const EchoSwarmBackend&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  std::uint64_t accepted() const { return accepted_.load(); }
  std::uint64_t open() const { return open_.load(); }
  std::uint64_t resets() const { return resets_.load(); }
  // Waits until at most n connections are open.
  bool waitOpenAtMost(std::uint64_t n, const Deadline& deadline) const;

 private:
  struct Conn;
  void loop();

  Fd listener_;
  Fd epoll_;
  Fd wake_;
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> open_{0};
  std::atomic<std::uint64_t> resets_{0};
  std::thread thread_;
};

}  // namespace ringlb::test
