#pragma once
// Clients that keep opening connections through an echo path and moving data until stopped:
// each connection sends 1..64 KiB of random bytes in two round trips, compares the echo byte for
// byte, half-closes and expects a clean end. Every connection that fails in any way (refused,
// reset, short or different echo, unclean end) is counted, with the first failure's reason.
// For tests of what must not disturb traffic (reloads, upgrades).
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ringlb::test {

class EchoLoad {
 public:
  EchoLoad(std::uint16_t port, unsigned threads);
  ~EchoLoad() { stop(); }
  EchoLoad(const EchoLoad&) = delete;
  EchoLoad& operator=(const EchoLoad&) = delete;

  // Stops and joins the client threads (each finishes its connection first).
  void stop();
  std::uint64_t ok() const { return ok_; }
  std::uint64_t failed() const { return failed_; }
  std::string firstFailure() const;

 private:
  void run(std::uint16_t port, unsigned seed);
  void fail(const std::string& why);

  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> ok_{0};
  std::atomic<std::uint64_t> failed_{0};
  mutable std::mutex mutex_;
  std::string firstFailure_;
  std::vector<std::thread> threads_;
};

}  // namespace ringlb::test
