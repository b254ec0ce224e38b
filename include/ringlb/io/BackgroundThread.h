#pragma once
// One thread beside an EventLoop for work too slow for the loop (a rendezvous table over
// thousands of servers takes most of a second): jobs run on it one at a time, in submission
// order, and each returns a continuation that the loop's thread runs at its next turn. So the
// control loop never blocks on a build, and everything a continuation touches stays
// single-threaded.
//
// Contracts: submit() from the loop's thread only. A job must not touch loop-owned state; give
// it copies or immutable data (a snapshot, a vector of weights). The destructor waits for the
// running job and drops queued jobs and undelivered continuations: destroy this before
// anything its continuations point at can dangle, and after the loop's last turn.
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

  // nullptr (and *error set) if the wake-up eventfd cannot be made or watched.
  static std::unique_ptr<BackgroundThread> create(EventLoop& loop, std::string* error);
  ~BackgroundThread();
  BackgroundThread(const BackgroundThread&) = delete;
  BackgroundThread& operator=(const BackgroundThread&) = delete;

  void submit(Job job);

 private:
  explicit BackgroundThread(EventLoop& loop) : loop_(loop) {}
  void main();
  void deliver();  // on the loop's thread, when the eventfd fires

  EventLoop& loop_;
  int eventFd_ = -1;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;                // guarded by mutex_
  std::deque<Continuation> finished_;   // guarded by mutex_
  bool stop_ = false;                   // guarded by mutex_
  std::thread thread_;
};

}  // namespace ringlb::io
