#include "ringlb/io/BackgroundThread.h"

#include <sys/resource.h>
#include <unistd.h>

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
  // Nice 10, this thread only: a build yields to the workers it shares cores with, yet still gets
  // about a tenth of a saturated core (SCHED_IDLE or nice 19 would let a reload wait minutes on a
  // machine at full load, exactly when an operator may need one). Measured in
  // docs/benchmarks.md, "Reload under load".
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
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
