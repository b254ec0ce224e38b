#pragma once
// A per-worker pool of pipes for splice. Creating a pipe costs two fds and a syscall or two;
// bulk connections come and go, so the pipes are kept and reused. A pipe is only pooled when it
// is known to be empty: bytes left in it would leak into the next connection.
#include <cstddef>
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
  std::size_t idle() const { return idle_.size(); }
  std::size_t created() const { return created_; }

 private:
  unsigned capacity_;
  std::size_t maxIdle_;
  std::size_t created_ = 0;
  std::vector<Pipe> idle_;
};

}  // namespace ringlb::io
