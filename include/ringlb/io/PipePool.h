#pragma once
// A per-worker pool of pipes for splice. Creating a pipe costs two fds and a syscall or two;
// bulk connections come and go, so the pipes are kept and reused. A pipe is only pooled when it
// is known to be empty: bytes left in it would leak into the next connection.
//
// Idle pipes hold descriptors that sessions may need, so the pool is bounded by a limit the
// owner can change at any time (setMaxIdle: the proxy derives it from the descriptor budget),
// can be emptied at once (trim: when descriptors run short), and reports its idle pipes in a
// counter shared with the other workers' pools (countIn), so the budget sees them all.
// Threading: one pool per worker thread; only the shared counter is touched by others.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringlb::io {

struct Pipe {
  int read = -1;
  int write = -1;
  unsigned capacity = 0;
  bool valid() const { return read >= 0; }
};

// splice(2) without blocking (SPLICE_F_NONBLOCK | SPLICE_F_MOVE), between a socket and a pipe.
// Returns the bytes moved, 0 at end of stream, or -errno (-EAGAIN: nothing can move now).
// Called directly rather than through io_uring, which runs every splice on an io-wq thread.
long spliceNow(int in, int out, unsigned len);

class PipePool {
 public:
  // capacity: requested pipe size (F_SETPIPE_SZ; the kernel may round or refuse it, in which case
  // the default 64 KiB stays). maxIdle: pipes kept when idle; more are closed on release.
  PipePool(unsigned capacity, std::size_t maxIdle) : capacity_(capacity), maxIdle_(maxIdle) {}
  ~PipePool();
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  // A pipe, or an invalid one (errno set, e.g. EMFILE) when none can be created.
  Pipe acquire();
  // Returns a pipe. `empty` must be true only if every byte written into it was read out.
  void release(Pipe pipe, bool empty);
  // Keeps at most `maxIdle` idle pipes from now on, closing any beyond it at once.
  void setMaxIdle(std::size_t maxIdle);
  // Closes every idle pipe.
  void trim() { shrinkTo(0); }
  // Adds this pool's idle pipes to `counter` (and keeps it up to date until destruction).
  void countIn(std::atomic<uint64_t>* counter);
  std::size_t maxIdle() const { return maxIdle_; }
  std::size_t idle() const { return idle_.size(); }
  std::size_t created() const { return created_; }

 private:
  void shrinkTo(std::size_t n);
  void counted(long delta);

  unsigned capacity_;
  std::size_t maxIdle_;
  std::size_t created_ = 0;
  std::vector<Pipe> idle_;
  std::atomic<uint64_t>* shared_ = nullptr;
};

}  // namespace ringlb::io
