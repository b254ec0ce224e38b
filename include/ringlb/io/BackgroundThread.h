#pragma once
// One thread beside an EventLoop for work too slow for the loop (a rendezvous table over
// thousands of servers takes most of a second): jobs run on it one at a time, in submission
// order, and each returns a continuation that the loop's thread runs at its next turn. So the
// control loop never blocks on a build, and everything a continuation touches stays
// single-threaded.
//
// Contracts: submit() and the destructor on the loop's thread only. A job must not touch
// loop-owned state; give it copies or immutable data (a snapshot, a vector of weights). The
// destructor waits for the running job and drops queued jobs and undelivered continuations
// (posted ones then do nothing): nothing a continuation points at is touched after it.
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ringlb/io/EventLoop.h"

namespace ringlb::io {

class BackgroundThread {
 public:
  using Continuation = std::function<void()>;
  using Job = std::function<Continuation()>;

  explicit BackgroundThread(EventLoop& loop);
  ~BackgroundThread();
  BackgroundThread(const BackgroundThread&) = delete;
  BackgroundThread& operator=(const BackgroundThread&) = delete;

  void submit(Job job);

 private:
  void main();

  EventLoop& loop_;  // continuations reach it through EventLoop::post
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;  // guarded by mutex_
  bool stop_ = false;     // guarded by mutex_
  std::thread thread_;    // last: started once everything above exists
};

}  // namespace ringlb::io
