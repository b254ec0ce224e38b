#pragma once
// Blocking-style socket helpers for test clients (and the test backends), each bounded by a
// Deadline. They never raise SIGPIPE (MSG_NOSIGNAL), never throw, and report how a stream ended
// so tests can tell a clean FIN from a reset.
//
// Every socket made here is close-on-exec: a ringlb child process must not inherit test sockets,
// or closing them in the test would not deliver FIN/RST to the peer.
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringlb/net/Address.h"
#include "support/Deadline.h"
#include "support/Fd.h"
#include "support/Sha256.h"

namespace ringlb::test {

// How reading a stream ended.
enum class StreamEnd {
  Eof,      // orderly FIN
  Reset,    // ECONNRESET (or EPIPE on write): the peer sent RST
  Timeout,  // the deadline passed first
  Error,    // any other errno
};
const char* toString(StreamEnd end);
// For gtest messages.
inline void PrintTo(StreamEnd end, std::ostream* os) { *os << toString(end); }

struct ConnectResult {
  Fd fd;          // valid iff connected
  int error = 0;  // errno on failure; ETIMEDOUT if the deadline passed
};

// Connects to `to`, optionally binding the source IP first (e.g. "127.0.0.2"). The returned
// socket is in blocking mode.
ConnectResult connectTcp(const net::Address& to, Clock::duration timeout,
                         const std::string& sourceIp = "");
// Shorthand for 127.0.0.1:port.
ConnectResult connectLocal(std::uint16_t port, Clock::duration timeout = 5s,
                           const std::string& sourceIp = "");

// A client socket set up before it connects, to stand for a slow or narrow client.
struct SocketTuning {
  int receiveBuffer = 0;  // SO_RCVBUF in bytes (the kernel doubles it; no autotuning); 0: default
  int maxSegment = 0;     // TCP_MAXSEG, the MSS we announce (the proxy then sends segments no
                          // larger, and sizes its send buffer for them); 0: default
};
// 127.0.0.1:port with `tuning` applied before connecting.
ConnectResult connectLocal(std::uint16_t port, const SocketTuning& tuning,
                           Clock::duration timeout = 5s);

// Sends everything or returns false (deadline, reset, error). *error gets the errno.
bool sendAll(int fd, std::span<const std::uint8_t> data, const Deadline& deadline,
             int* error = nullptr);
bool sendAll(int fd, std::string_view data, const Deadline& deadline, int* error = nullptr);

// Reads exactly n bytes; nullopt if the stream ended or the deadline passed first.
std::optional<std::string> recvExact(int fd, std::size_t n, const Deadline& deadline);

struct ReadResult {
  std::string data;
  StreamEnd end = StreamEnd::Timeout;
  int error = 0;
};
// Reads until the stream ends (or maxBytes were stored; further data is counted, not kept).
ReadResult readUntilEnd(int fd, const Deadline& deadline, std::size_t maxBytes = 1 << 20);

struct DrainResult {
  std::uint64_t bytes = 0;
  Digest sha{};
  StreamEnd end = StreamEnd::Timeout;
  int error = 0;
};
// Reads until the stream ends, hashing but not keeping the bytes.
DrainResult drainUntilEnd(int fd, const Deadline& deadline);

// Reads all the sockets at once (one thread, one poll loop), each until its stream ends or it
// gave `want` bytes, whichever is first, or the deadline passes. Result i is fds[i]'s; `end` is
// Timeout for a stream that had not ended when its reading stopped (deadline or `want`). For
// many concurrent downloads: every socket keeps being read while others wait.
std::vector<DrainResult> drainEach(std::span<const int> fds, const Deadline& deadline,
                                   std::uint64_t want = UINT64_MAX);

// drainEach's loop with the bytes handed to `consume(i, bytes)` instead of hashed (the results'
// `sha` stay empty): for checks cheaper than SHA-256 when hundreds of streams run at once.
std::vector<DrainResult> drainEachWith(
    std::span<const int> fds, const Deadline& deadline, std::uint64_t want,
    const std::function<void(std::size_t, std::span<const std::uint8_t>)>& consume);

// Bytes waiting in fd's receive queue (SIOCINQ); -1 on error.
long queuedBytes(int fd);

// Bytes written to fd that the peer has not acknowledged yet (SIOCOUTQ: unsent + unacked);
// -1 on error.
long unacknowledgedBytes(int fd);
// Waits until the peer's kernel acknowledged everything written to fd (SIOCOUTQ 0): every byte
// has left this host's hands, so a reset sent now cannot discard any of it.
bool waitAcknowledged(int fd, const Deadline& deadline);

// True if at least one byte (or an end of stream) is readable before the deadline; consumes
// nothing.
bool readableBefore(int fd, const Deadline& deadline);

// Sends FIN: we write no more, the other direction stays open.
void shutdownWrite(int fd);

// One echo round trip on an open connection: `payload` sent whole and the same bytes back (5 s).
bool echoes(int fd, std::string_view payload);
// A new connection through an echo path is served: "ping" comes back (5 s each way).
bool served(const net::Address& to);
bool served(std::uint16_t port);  // 127.0.0.1
// Closes with SO_LINGER {1, 0}: the kernel sends RST instead of FIN and drops unsent data.
void closeWithReset(Fd& fd);

}  // namespace ringlb::test
