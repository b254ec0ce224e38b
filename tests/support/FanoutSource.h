#pragma once
// A backend for many concurrent downloads that never becomes the bottleneck: one epoll thread
// sends every accepted connection the same precomputed bytes (the first `bytes` of
// Pattern(seed)) as fast as its socket takes them, then FIN and close. No per-byte work (no
// pattern generation, no hashing), no thread per connection: TestBackend's Source mode spends
// a thread and a SHA-256 per connection, and with hundreds of connections on a shared two-core
// machine (or under the sanitizers) it falls seconds behind, so that the proxy looks idle-timed
// out when its server was simply slow.
//
// Lifetime: the destructor stops the thread and closes every socket.
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "support/Fd.h"

namespace ringlb::test {

class FanoutSource {
 public:
  FanoutSource(std::uint64_t bytes, std::uint64_t seed);
  ~FanoutSource();
  FanoutSource(const FanoutSource&) = delete;
  FanoutSource& operator=(const FanoutSource&) = delete;

  bool valid() const { return port_ != 0; }
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // What every connection receives: compare a download with it.
  std::span<const std::uint8_t> content() const { return content_; }
  // Connections that were sent every byte and closed (FIN).
  std::size_t completed() const { return completed_.load(); }
  // Connections whose send failed (the peer reset or closed early).
  std::size_t failed() const { return failed_.load(); }

 private:
  void run();

  std::vector<std::uint8_t> content_;
  Fd listener_;
  Fd epoll_;
  Fd wake_;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> completed_{0};
  std::atomic<std::size_t> failed_{0};
  std::thread thread_;
};

}  // namespace ringlb::test
