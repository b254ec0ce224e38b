#include "ringlb/io/BackgroundThread.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringlb::io {

std::unique_ptr<BackgroundThread> BackgroundThread::create(EventLoop& loop, std::string* error) {
  std::unique_ptr<BackgroundThread> self(new BackgroundThread(loop));
  self->eventFd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (self->eventFd_ < 0) {
    if (error != nullptr) *error = std::string("eventfd: ") + std::strerror(errno);
    return nullptr;
  }
  BackgroundThread* raw = self.get();
  if (!loop.add(self->eventFd_, EPOLLIN, [raw](uint32_t) { raw->deliver(); })) {
    if (error != nullptr) *error = std::string("epoll (background thread): ") + std::strerror(errno);
    return nullptr;  // the destructor closes the eventfd; no thread was started
  }
  self->thread_ = std::thread([raw] { raw->main(); });
  return self;
}

BackgroundThread::~BackgroundThread() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    jobs_.clear();
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (eventFd_ >= 0) {
    loop_.remove(eventFd_);
    ::close(eventFd_);
  }
}

void BackgroundThread::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void BackgroundThread::main() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Continuation next = job();
    {
      std::lock_guard lock(mutex_);
      if (stop_) return;
      finished_.push_back(std::move(next));
    }
    const uint64_t one = 1;
    // Cannot fail short of a counter overflow (2^64 - 1 wake-ups); EAGAIN would mean the loop
    // has a wake-up pending already, which is all we need.
    [[maybe_unused]] const ssize_t n = ::write(eventFd_, &one, sizeof one);
  }
}

void BackgroundThread::deliver() {
  uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(eventFd_, &count, sizeof count);
  std::deque<Continuation> ready;
  {
    std::lock_guard lock(mutex_);
    ready.swap(finished_);
  }
  // Outside the lock: a continuation may submit the next job.
  for (Continuation& c : ready) {
    if (c) c();
  }
}

}  // namespace ringlb::io
