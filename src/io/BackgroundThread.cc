#include "ringlb/io/BackgroundThread.h"

namespace ringlb::io {

BackgroundThread::BackgroundThread(EventLoop& loop) : loop_(loop) {
  thread_ = std::thread([this] { main(); });
}

BackgroundThread::~BackgroundThread() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    jobs_.clear();
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  // Continuations already posted to the loop find the token expired and do nothing.
  alive_.reset();
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
    }
    if (!next) continue;
    loop_.post([alive = std::weak_ptr<int>(alive_), next = std::move(next)] {
      if (!alive.expired()) next();
    });
  }
}

}  // namespace ringlb::io
