// io::BackgroundThread: jobs run off the loop's thread, in order; their continuations run on the
// loop's thread; the loop keeps turning (timers fire) while a job runs. No timing assertion:
// a job is held by a latch the test opens, never by a sleep.
#include "ringlb/io/BackgroundThread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ringlb::io {
namespace {

using namespace std::chrono_literals;

struct Fixture {
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<BackgroundThread> thread;
  Fixture() {
    std::string error;
    loop = EventLoop::create(&error);
    EXPECT_NE(loop, nullptr) << error;
    thread = std::make_unique<BackgroundThread>(*loop);
  }
  // Turns the loop until `done` or a generous deadline; false on the deadline.
  bool turnUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      loop->runOnce(50ms);
    }
    return true;
  }
};

TEST(BackgroundThreadTest, JobRunsOffTheLoopThreadAndItsContinuationOnIt) {
  Fixture f;
  const std::thread::id loopThread = std::this_thread::get_id();
  std::thread::id jobThread;
  std::thread::id continuationThread;
  bool delivered = false;
  f.thread->submit([&]() -> BackgroundThread::Continuation {
    jobThread = std::this_thread::get_id();
    return [&] {
      continuationThread = std::this_thread::get_id();
      delivered = true;
    };
  });
  ASSERT_TRUE(f.turnUntil([&] { return delivered; }));
  EXPECT_NE(jobThread, loopThread);
  EXPECT_EQ(continuationThread, loopThread);
}

// While a job is stuck, the loop still fires its timers; the continuation arrives only once the
// job ends.
TEST(BackgroundThreadTest, LoopKeepsTurningWhileAJobRuns) {
  Fixture f;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> started{false};
  bool delivered = false;
  f.thread->submit([&, released]() -> BackgroundThread::Continuation {
    started = true;
    released.wait();
    return [&] { delivered = true; };
  });
  int ticks = 0;
  std::function<void()> tick = [&] {
    if (++ticks < 5) f.loop->after(1ms, tick);
  };
  f.loop->after(1ms, tick);
  ASSERT_TRUE(f.turnUntil([&] { return started.load() && ticks >= 5; }));
  EXPECT_FALSE(delivered) << "the job has not finished";
  release.set_value();
  ASSERT_TRUE(f.turnUntil([&] { return delivered; }));
}

// Jobs run one at a time in submission order, and so do their continuations; a continuation may
// submit another job.
TEST(BackgroundThreadTest, JobsAndContinuationsKeepSubmissionOrder) {
  Fixture f;
  std::vector<int> jobs;          // written by the background thread only, read after the end
  std::vector<int> continuations;
  for (int i = 0; i < 20; ++i) {
    f.thread->submit([&, i]() -> BackgroundThread::Continuation {
      jobs.push_back(i);
      return [&, i] {
        continuations.push_back(i);
        if (i == 19) {
          f.thread->submit([&]() -> BackgroundThread::Continuation {
            return [&] { continuations.push_back(100); };
          });
        }
      };
    });
  }
  ASSERT_TRUE(f.turnUntil([&] { return continuations.size() == 21; }));
  std::vector<int> expected;
  for (int i = 0; i < 20; ++i) expected.push_back(i);
  EXPECT_EQ(jobs, expected);
  expected.push_back(100);
  EXPECT_EQ(continuations, expected);
}

// Destroying it waits for the running job and drops the queued ones: nothing runs afterwards.
TEST(BackgroundThreadTest, DestructorWaitsForTheRunningJobAndDropsTheRest) {
  Fixture f;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> started{false};
  std::atomic<bool> firstEnded{false};
  std::atomic<int> laterJobs{0};
  f.thread->submit([&, released]() -> BackgroundThread::Continuation {
    started = true;
    released.wait();
    firstEnded = true;
    return {};
  });
  for (int i = 0; i < 3; ++i) {
    f.thread->submit([&]() -> BackgroundThread::Continuation {
      ++laterJobs;
      return {};
    });
  }
  while (!started) std::this_thread::yield();
  std::thread opener([&] {
    std::this_thread::sleep_for(20ms);
    release.set_value();
  });
  f.thread.reset();
  EXPECT_TRUE(firstEnded) << "the destructor returned before the running job ended";
  opener.join();
  EXPECT_EQ(laterJobs.load(), 0);
}

}  // namespace
}  // namespace ringlb::io
