// What opening a server socket costs by system calls (socket(2) + setsockopt(TCP_NODELAY), as
// net::createStreamSocket does per connection) against the same through io_uring
// (IORING_OP_SOCKET, and IORING_OP_URING_CMD's SOCKET_URING_OP_SETSOCKOPT, kernel 6.7+): the
// bound on issue 12's IORING_OP_SOCKET lever, which a whole-process A/B on this shared machine
// (runs spread 5-15 %) cannot resolve. The ring versions prepare a batch of sockets per
// io_uring_enter, as a busy worker would, so they pay no system call of their own beyond their
// share of one enter (two for BM_SocketAndNoDelayByRing: the sockets, then their options); every
// version closes its sockets with close(2), which no version saves. A null system call (getppid)
// is measured beside them for scale. per_socket is derived from the benchmark's CPU time (rate
// counters use it), which on a pinned, otherwise idle CPU is its wall time too.
//
// This measures the kernel's interfaces, not ringlb's code, so it uses liburing directly (the
// product keeps io_uring inside src/io). liburing 2.3 has no helper for the setsockopt command:
// the SQE fields are filled as the kernel reads them (level and optname in `addr`'s two halves,
// optlen in `splice_fd_in`, optval in `addr3`).
#include <benchmark/benchmark.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>

namespace {

constexpr int kBatch = 32;
constexpr uint32_t kSocketUringOpSetsockopt = 3;  // SOCKET_URING_OP_SETSOCKOPT (linux/io_uring.h, 6.7+)
constexpr int kSocketType = SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC;
const int kOne = 1;

// Seconds per socket, from a benchmark whose iteration opens kBatch of them.
void perSocket(benchmark::State& state) {
  state.counters["per_socket"] = benchmark::Counter(
      kBatch, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_NullSystemCall(benchmark::State& state) {
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) benchmark::DoNotOptimize(syscall(SYS_getppid));
  }
  perSocket(state);
}

void BM_SocketBySystemCalls(benchmark::State& state) {
  std::array<int, kBatch> fds{};
  for (auto _ : state) {
    for (int& fd : fds) {
      fd = ::socket(AF_INET, kSocketType, 0);
      if (fd < 0) state.SkipWithError("socket");
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &kOne, sizeof kOne);
    }
    for (int fd : fds) ::close(fd);
  }
  perSocket(state);
}

// The ring is sized for two batches and drained after each: an SQE is always free.
io_uring_sqe* nextSqe(io_uring* ring) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) std::abort();
  return sqe;
}

void prepSocket(io_uring* ring, uint64_t userData) {
  io_uring_sqe* sqe = nextSqe(ring);
  io_uring_prep_socket(sqe, AF_INET, kSocketType, 0, 0);
  sqe->user_data = userData;
}

void prepNoDelay(io_uring* ring, int fd, uint64_t userData) {
  io_uring_sqe* sqe = nextSqe(ring);
  io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, nullptr, 0, 0);
  sqe->cmd_op = kSocketUringOpSetsockopt;
  sqe->addr = static_cast<uint64_t>(IPPROTO_TCP) | (static_cast<uint64_t>(TCP_NODELAY) << 32);
  sqe->splice_fd_in = sizeof kOne;
  sqe->addr3 = reinterpret_cast<uintptr_t>(&kOne);
  sqe->user_data = userData;
}

struct RingFixture {
  io_uring ring{};
  bool ok = io_uring_queue_init(2 * kBatch, &ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) == 0;
  ~RingFixture() {
    if (ok) io_uring_queue_exit(&ring);
  }
  // Submits what is prepared, waits for kBatch completions and stores their results by user
  // data; false if any failed.
  bool reap(std::array<int, kBatch>& results) {
    if (io_uring_submit_and_wait(&ring, kBatch) < 0) return false;
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0;
    unsigned seen = 0;
    bool allOk = true;
    io_uring_for_each_cqe(&ring, head, cqe) {
      results[cqe->user_data] = cqe->res;
      allOk &= cqe->res >= 0;
      ++seen;
    }
    io_uring_cq_advance(&ring, seen);
    return allOk && seen == kBatch;
  }
  // Opens kBatch sockets through the ring into `fds`; false (the benchmark skipped with why)
  // if the ring or the operation is not there.
  bool openSockets(benchmark::State& state, std::array<int, kBatch>& fds) {
    if (!ok) {
      state.SkipWithError("io_uring_queue_init");
      return false;
    }
    for (int i = 0; i < kBatch; ++i) prepSocket(&ring, static_cast<uint64_t>(i));
    if (!reap(fds)) {
      state.SkipWithError("IORING_OP_SOCKET");
      return false;
    }
    return true;
  }
};

void BM_SocketByRing(benchmark::State& state) {
  RingFixture f;
  std::array<int, kBatch> fds{};
  for (auto _ : state) {
    if (!f.openSockets(state, fds)) return;
    for (int fd : fds) ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &kOne, sizeof kOne);
    for (int fd : fds) ::close(fd);
  }
  perSocket(state);
}

void BM_SocketAndNoDelayByRing(benchmark::State& state) {
  RingFixture f;
  std::array<int, kBatch> fds{};
  std::array<int, kBatch> results{};
  for (auto _ : state) {
    if (!f.openSockets(state, fds)) return;
    for (int i = 0; i < kBatch; ++i) prepNoDelay(&f.ring, fds[static_cast<std::size_t>(i)], static_cast<uint64_t>(i));
    if (!f.reap(results)) {
      state.SkipWithError("SOCKET_URING_OP_SETSOCKOPT (kernel before 6.7?)");
      return;
    }
    for (int fd : fds) ::close(fd);
  }
  // The command must have done what setsockopt(2) does, or the comparison means nothing.
  const int fd = ::socket(AF_INET, kSocketType, 0);
  prepNoDelay(&f.ring, fd, 0);
  io_uring_cqe* cqe = nullptr;
  const bool reaped = io_uring_submit_and_wait(&f.ring, 1) >= 0 && io_uring_peek_cqe(&f.ring, &cqe) == 0;
  int value = 0;
  socklen_t len = sizeof value;
  ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &len);
  if (!reaped || cqe == nullptr || cqe->res != 0 || value == 0) state.SkipWithError("TCP_NODELAY not set by the ring");
  ::close(fd);
  perSocket(state);
}

BENCHMARK(BM_NullSystemCall);
BENCHMARK(BM_SocketBySystemCalls);
BENCHMARK(BM_SocketByRing);
BENCHMARK(BM_SocketAndNoDelayByRing);

}  // namespace

BENCHMARK_MAIN();
