#pragma once
// The access log's one writer: a thread that drains every worker's LineRing and writes the lines
// through spdlog to the configured file (appended) or to standard output. Workers never block
// and never take a lock to log: each formats its line (log/AccessFormat.h) and pushes it into
// its own ring; when the ring is full the line is dropped and counted (dropped()), because
// traffic must never wait for a disk.
//
// The thread drains every kDrainInterval, at once again after a round that found a ring more
// than a quarter full (so a burst does not wait the interval while the ring fills), and a last
// time at destruction; it flushes after each round. Each push reaches the output exactly once,
// byte for byte (the logger's pattern is "%v" with no end of line of its own); pushes of one
// worker keep their order, pushes of different workers interleave by round.
//
// Threads: ring(i) is worker i's, and only that worker may push into it. reopen() and dropped()
// may be called from any thread. Destroy the writer only after every worker has stopped pushing.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ringlb/config/Config.h"
#include "ringlb/log/LineRing.h"

namespace spdlog {
class logger;
}

namespace ringlb::log {

class AccessLogWriter {
 public:
  // Bytes per worker ring. Drained every 100 ms, that holds 10 MiB/s per worker before a line
  // is dropped: about 50,000 text lines a second (~200 bytes each; JSON ~300), some 7 times
  // what one core sustains in the close benchmark (docs/benchmarks.md: ~133 us of CPU per
  // connection, ~7,500 a second), so a full ring means the output is stuck, not busy. A ring
  // found a quarter full is drained again at once, so the interval bounds latency rather than
  // throughput. Allocated untouched: a worker costs only the pages its lines reached, so 64
  // workers reserve 64 MiB but use what they log. Smaller would drop lines on bursts; larger
  // would only delay the drops of a stuck output.
  static constexpr std::size_t kRingBytes = std::size_t{1} << 20;
  static constexpr std::chrono::milliseconds kDrainInterval{100};

  // Opens the log (a file in append mode, created with mode 0640 less the umask if missing; or
  // standard output for config::kAccessLogStdout), makes `workers` rings of `ringBytes` and
  // starts the thread. nullptr with *error set ("cannot open access log \"/path\": Permission
  // denied") if the file cannot be opened, or if config.path is empty (no log is configured).
  static std::unique_ptr<AccessLogWriter> open(const config::AccessLog& config,
                                               std::size_t workers, std::string* error,
                                               std::size_t ringBytes = kRingBytes);

  // Drains every ring one last time, flushes, and joins the thread.
  ~AccessLogWriter();
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // Worker `worker`'s ring, worker < workers(). The reference stays valid for the writer's life.
  LineRing& ring(std::size_t worker) { return *rings_[worker]; }
  std::size_t workers() const { return rings_.size(); }

  // For log rotation (logrotate's create mode: rename the file, then signal): closes the file
  // and opens the configured path again, creating it. Every push made after reopen() returns
  // goes to the new file; pushes made earlier may still go to the old one (renamed or not).
  // On failure the old file stays in use and the error is returned ("cannot open access log
  // ..."); empty on success. Standard output is not reopened (returns empty at once). Blocks
  // for the open and at most one chunk's write in progress; never waits for a whole round.
  std::string reopen();

  // Lines dropped because a ring was full, summed over the rings, since open().
  uint64_t dropped() const;

 private:
  AccessLogWriter(std::string path, std::shared_ptr<spdlog::logger> logger, std::size_t workers,
                  std::size_t ringBytes);
  void run();
  // One round: drains every ring into the logger, then flushes. Returns whether a ring held more
  // than a quarter of its capacity (then the next round starts at once).
  bool drainAll();

  const std::string path_;  // the file's path; empty for standard output
  std::vector<std::unique_ptr<LineRing>> rings_;

  // The logger is used by the thread, and swapped by reopen() from any thread: each chunk's
  // write and each flush hold loggerMutex_, so a swap waits for one write at most and every
  // write after it goes to the new file.
  std::mutex loggerMutex_;
  std::shared_ptr<spdlog::logger> logger_;  // guarded by loggerMutex_

  std::mutex wakeMutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by wakeMutex_
  std::thread thread_;
};

}  // namespace ringlb::log
