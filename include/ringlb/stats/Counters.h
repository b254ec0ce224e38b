#pragma once
// The workers' counters: each worker owns one WorkerCounters and is the only thread that writes
// it; the control thread reads every worker's at scrape time and sums them (stats::Model). So
// the data path counts with a plain load and store (no lock, no atomic read-modify-write, no
// cache line shared with another worker), and nothing is looked up by name: counters are
// indexed by enums and by slots.
//
// Slots are identities for the process's life, assigned by the control plane and never reused:
// a frontend's and a backend's by name (stats::SlotNames), a server's by its registry record
// (lb::LiveServer::id). A reload that adds, removes or reorders them never mixes one's counts
// with another's, which positions in a snapshot would.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ringlb::stats {

// A counter one thread writes and any thread may read (relaxed: a scrape sees each counter's
// value of a moment ago, never a torn one).
class Counter {
 public:
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t read() const { return value_.load(std::memory_order_relaxed); }
  // For a total the owner keeps elsewhere (io_uring's submission count): set, not added.
  void set(uint64_t value) { value_.store(value, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

enum class FrontendStat : uint8_t {
  Accepted,  // connections accepted from the kernel (sessions or not)
  Sessions,  // sessions started
  Closed,    // sessions ended (Sessions - Closed are open)
  Limited,   // connections refused at a connection limit
  BytesIn,   // client -> server, delivered
  BytesOut,  // server -> client, delivered
  Count
};

enum class BackendStat : uint8_t {
  Opened,         // sessions assigned to it
  Closed,         // of those, ended
  ConnectErrors,  // failed connect attempts (refused, timed out, no socket)
  Retries,        // connect attempts after a session's first
  NoServer,       // sessions closed at once: no server available
  Count
};

// Upper bounds (seconds) of the connect time histogram's buckets; +Inf is implied. From 100 µs
// (loopback) to 5 s (a connect timeout's usual range).
inline constexpr std::array<double, 15> kConnectTimeBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

enum class ServerStat : uint8_t {
  Connections,    // connects that succeeded
  BytesIn,        // client -> server, delivered
  BytesOut,       // server -> client, delivered
  ConnectErrors,  // connect attempts that failed
  ConnectTimeUs,  // sum of successful connects' durations, microseconds
  ConnectBucket0, // + i: successful connects within kConnectTimeBounds[i] (not cumulative);
                  // the last, index kConnectTimeBounds.size(), is +Inf
  Count = ConnectBucket0 + kConnectTimeBounds.size() + 1
};

// The bucket of a connect that took `us` microseconds.
std::size_t connectBucket(uint64_t us);

enum class WorkerStat : uint8_t {
  Submissions,       // SQEs submitted to the kernel
  Completions,       // CQEs handled
  SpliceDirections,  // relay directions that ended splicing
  CopyDirections,    // relay directions that ended copying
  BufferWaits,       // relay directions parked for a provided buffer (the ring was empty)
  PrivateBuffers,    // private buffers taken for slow receivers
  Count
};

// Rows of N counters by slot, in blocks of 64 rows allocated by the owning worker when it takes
// a snapshot naming new slots (reserve), never while counting; a reader on another thread finds
// a block either absent (all zero) or complete.
template <std::size_t N, std::size_t MaxBlocks>
class CounterTable {
 public:
  using Row = std::array<Counter, N>;
  static constexpr std::size_t kBlockRows = 64;
  static constexpr std::size_t kMaxBlocks = MaxBlocks;
  static constexpr std::size_t kMaxSlots = kBlockRows * kMaxBlocks;

  CounterTable() = default;
  ~CounterTable() {
    for (auto& block : blocks_) delete[] block.load(std::memory_order_relaxed);
  }
  CounterTable(const CounterTable&) = delete;
  CounterTable& operator=(const CounterTable&) = delete;

  // The owning worker: makes slots [0, slots) countable. Returns false past kMaxSlots.
  bool reserve(std::size_t slots) {
    if (slots > kMaxSlots) return false;
    for (std::size_t b = 0; b * kBlockRows < slots; ++b) {
      if (blocks_[b].load(std::memory_order_relaxed) == nullptr) {
        blocks_[b].store(new Row[kBlockRows], std::memory_order_release);
      }
    }
    return true;
  }
  // The owning worker: slot must be reserved (the snapshot that names it was published after).
  Row& row(uint32_t slot) {
    return blocks_[slot / kBlockRows].load(std::memory_order_acquire)[slot % kBlockRows];
  }
  // Any thread: 0 for a slot never reserved.
  uint64_t read(uint32_t slot, std::size_t stat) const {
    if (slot >= kMaxSlots) return 0;
    const Row* block = blocks_[slot / kBlockRows].load(std::memory_order_acquire);
    return block == nullptr ? 0 : block[slot % kBlockRows][stat].read();
  }

 private:
  std::array<std::atomic<Row*>, kMaxBlocks> blocks_{};
};

inline constexpr std::size_t kCloseReasons = 16;  // >= the number of proxy::CloseReason values

// One worker's counters. Allocated on its own (alignas) so that no two workers' counters share
// a cache line.
struct alignas(64) WorkerCounters {
  std::array<Counter, static_cast<std::size_t>(WorkerStat::Count)> worker;
  std::array<Counter, kCloseReasons> closed;  // by proxy::CloseReason
  // 4,096 frontends and backends, 262,144 servers over the process's life (slots are never
  // reused); the block pointers cost 0.5 KiB, 0.5 KiB and 32 KiB per worker.
  CounterTable<static_cast<std::size_t>(FrontendStat::Count), 64> frontends;
  CounterTable<static_cast<std::size_t>(BackendStat::Count), 64> backends;
  CounterTable<static_cast<std::size_t>(ServerStat::Count), 4096> servers;

  void add(WorkerStat stat, uint64_t n = 1) { worker[static_cast<std::size_t>(stat)].add(n); }
  void add(uint32_t slot, FrontendStat stat, uint64_t n = 1) {
    frontends.row(slot)[static_cast<std::size_t>(stat)].add(n);
  }
  void add(uint32_t slot, BackendStat stat, uint64_t n = 1) {
    backends.row(slot)[static_cast<std::size_t>(stat)].add(n);
  }
  void add(uint32_t slot, ServerStat stat, uint64_t n = 1) {
    servers.row(slot)[static_cast<std::size_t>(stat)].add(n);
  }
  // A successful connect of `us` microseconds: counted, summed, and bucketed.
  void connected(uint32_t serverSlot, uint64_t us);
};

// Names to slots, assigned in order of first sight and never reused (frontends, backends).
// Control thread only.
class SlotNames {
 public:
  uint32_t slotOf(std::string_view name);
  // nullptr if the name never had a slot.
  const uint32_t* find(std::string_view name) const;
  std::size_t size() const { return slots_.size(); }

 private:
  std::map<std::string, uint32_t, std::less<>> slots_;
};

}  // namespace ringlb::stats
