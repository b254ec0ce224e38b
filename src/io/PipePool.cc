#include "ringlb/io/PipePool.h"

#include <fcntl.h>
#include <cerrno>
#include <unistd.h>

namespace ringlb::io {

namespace {
void closePipe(const Pipe& pipe) {
  if (pipe.read >= 0) ::close(pipe.read);
  if (pipe.write >= 0) ::close(pipe.write);
}
}  // namespace

long spliceNow(int in, int out, unsigned len) {
  const ssize_t n = ::splice(in, nullptr, out, nullptr, len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  return n >= 0 ? static_cast<long>(n) : -errno;
}

PipePool::~PipePool() { shrinkTo(0); }

void PipePool::counted(long delta) {
  if (shared_ != nullptr) shared_->fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed);
}

void PipePool::countIn(std::atomic<uint64_t>* counter) {
  counted(-static_cast<long>(idle_.size()));
  shared_ = counter;
  counted(static_cast<long>(idle_.size()));
}

void PipePool::shrinkTo(std::size_t n) {
  while (idle_.size() > n) {
    closePipe(idle_.back());
    idle_.pop_back();
    counted(-1);
  }
}

void PipePool::setMaxIdle(std::size_t maxIdle) {
  maxIdle_ = maxIdle;
  shrinkTo(maxIdle);
}

Pipe PipePool::acquire() {
  if (!idle_.empty()) {
    Pipe pipe = idle_.back();
    idle_.pop_back();
    counted(-1);
    return pipe;
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return Pipe{};
  Pipe pipe{fds[0], fds[1], 65536};
  const int got = ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(capacity_));
  if (got > 0) pipe.capacity = static_cast<unsigned>(got);
  ++created_;
  return pipe;
}

void PipePool::release(Pipe pipe, bool empty) {
  if (!pipe.valid()) return;
  if (empty && idle_.size() < maxIdle_) {
    idle_.push_back(pipe);
    counted(1);
  } else {
    closePipe(pipe);
  }
}

}  // namespace ringlb::io
