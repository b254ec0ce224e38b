// The control thread's epoll + timers loop, driven with eventfds only (no sockets). Timing
// assertions are loose on purpose: a timer's order and that it fired are asserted, never how
// punctually.
#include "ringlb/io/EventLoop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ringlb::io {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// An eventfd that is readable (counter 1) or not (counter 0), closed at the end of the test.
class EventFd {
 public:
  explicit EventFd(bool readable) : fd_(::eventfd(readable ? 1 : 0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    EXPECT_GE(fd_, 0);
  }
  ~EventFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  EventFd(const EventFd&) = delete;
  EventFd& operator=(const EventFd&) = delete;
  int fd() const { return fd_; }
  void signal() const {
    const uint64_t one = 1;
    EXPECT_EQ(::write(fd_, &one, sizeof one), static_cast<ssize_t>(sizeof one));
  }

 private:
  int fd_;
};

std::unique_ptr<EventLoop> makeLoop() {
  std::string error;
  auto loop = EventLoop::create(&error);
  EXPECT_NE(loop, nullptr) << error;
  return loop;
}

// Turns the loop until `done` or a generous deadline; false if the deadline came first.
template <class Done>
bool turnUntil(EventLoop& loop, Done done, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    loop.runOnce(100ms);
  }
  return true;
}

// ---- descriptors --------------------------------------------------------------------------------

TEST(EventLoopTest, ReadableDescriptorsHandlerRunsAndIdleOneDoesNot) {
  auto loop = makeLoop();
  EventFd ready(true), idle(false);
  std::vector<uint32_t> readyEvents;
  int idleCalls = 0;
  ASSERT_TRUE(loop->add(ready.fd(), EPOLLIN, [&](uint32_t ev) { readyEvents.push_back(ev); }));
  ASSERT_TRUE(loop->add(idle.fd(), EPOLLIN, [&](uint32_t) { ++idleCalls; }));
  loop->runOnce(1000ms);
  ASSERT_EQ(readyEvents.size(), 1u);
  EXPECT_TRUE(readyEvents[0] & EPOLLIN);
  EXPECT_EQ(idleCalls, 0);
}

TEST(EventLoopTest, DescriptorBecomingReadableLaterIsDispatched) {
  auto loop = makeLoop();
  EventFd efd(false);
  int calls = 0;
  ASSERT_TRUE(loop->add(efd.fd(), EPOLLIN, [&](uint32_t) { ++calls; }));
  loop->runOnce(0ms);
  EXPECT_EQ(calls, 0);
  efd.signal();
  loop->runOnce(1000ms);
  EXPECT_EQ(calls, 1);
}

TEST(EventLoopTest, AddingTheSameDescriptorTwiceFails) {
  auto loop = makeLoop();
  EventFd efd(true);
  ASSERT_TRUE(loop->add(efd.fd(), EPOLLIN, [](uint32_t) {}));
  EXPECT_FALSE(loop->add(efd.fd(), EPOLLIN, [](uint32_t) {}));
  EXPECT_FALSE(loop->modify(efd.fd() + 1000, EPOLLIN));  // never added
}

TEST(EventLoopTest, ModifyChangesTheWatchedEvents) {
  auto loop = makeLoop();
  EventFd efd(false);  // never readable, always writable
  std::vector<uint32_t> events;
  ASSERT_TRUE(loop->add(efd.fd(), EPOLLIN, [&](uint32_t ev) { events.push_back(ev); }));
  loop->runOnce(0ms);
  EXPECT_TRUE(events.empty());
  ASSERT_TRUE(loop->modify(efd.fd(), EPOLLOUT));
  loop->runOnce(1000ms);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0] & EPOLLOUT);
}

TEST(EventLoopTest, HandlerMayRemoveItsOwnDescriptor) {
  auto loop = makeLoop();
  EventFd efd(true);  // stays readable (level-triggered)
  int calls = 0;
  ASSERT_TRUE(loop->add(efd.fd(), EPOLLIN, [&](uint32_t) {
    ++calls;
    loop->remove(efd.fd());
  }));
  loop->runOnce(1000ms);
  loop->runOnce(0ms);
  EXPECT_EQ(calls, 1);
}

// Both ready in one turn; whichever runs first removes the other: the other's event, already
// reported by epoll_wait, must not reach it.
TEST(EventLoopTest, DescriptorRemovedByAnEarlierHandlerOfTheTurnGetsNoCallback) {
  auto loop = makeLoop();
  EventFd a(true), b(true);
  int aCalls = 0, bCalls = 0;
  ASSERT_TRUE(loop->add(a.fd(), EPOLLIN, [&](uint32_t) {
    ++aCalls;
    loop->remove(b.fd());
  }));
  ASSERT_TRUE(loop->add(b.fd(), EPOLLIN, [&](uint32_t) {
    ++bCalls;
    loop->remove(a.fd());
  }));
  loop->runOnce(1000ms);
  EXPECT_EQ(aCalls + bCalls, 1) << "a " << aCalls << ", b " << bCalls;
  loop->runOnce(0ms);  // the survivor goes on; the removed one stays silent
  EXPECT_EQ(aCalls + bCalls, 2);
  EXPECT_TRUE(aCalls == 0 || bCalls == 0) << "a " << aCalls << ", b " << bCalls;
}

// Both ready in one turn; whichever runs first removes the other and adds it again with a new
// handler. The event reported for the old registration reaches neither handler; from the next
// turn on, only the new handler runs.
TEST(EventLoopTest, DescriptorReaddedWithNewHandlerCallsOnlyTheNewOne) {
  auto loop = makeLoop();
  EventFd a(true), b(true);
  int oldA = 0, oldB = 0, newA = 0, newB = 0;
  bool swapped = false;
  auto swapOther = [&](int other, int& newCalls) {
    if (swapped) return;
    swapped = true;
    loop->remove(other);
    ASSERT_TRUE(loop->add(other, EPOLLIN, [&newCalls](uint32_t) { ++newCalls; }));
  };
  ASSERT_TRUE(loop->add(a.fd(), EPOLLIN, [&](uint32_t) {
    ++oldA;
    swapOther(b.fd(), newB);
  }));
  ASSERT_TRUE(loop->add(b.fd(), EPOLLIN, [&](uint32_t) {
    ++oldB;
    swapOther(a.fd(), newA);
  }));
  loop->runOnce(1000ms);
  EXPECT_EQ(oldA + oldB, 1);
  EXPECT_EQ(newA + newB, 0) << "the old registration's event reached the new handler";

  loop->runOnce(1000ms);
  if (oldA > 0) {  // a ran first and re-added b
    EXPECT_EQ(oldA, 2);
    EXPECT_EQ(oldB, 0);
    EXPECT_EQ(newB, 1);
    EXPECT_EQ(newA, 0);
  } else {
    EXPECT_EQ(oldB, 2);
    EXPECT_EQ(oldA, 0);
    EXPECT_EQ(newA, 1);
    EXPECT_EQ(newB, 0);
  }
}

TEST(EventLoopTest, DescriptorReaddedBetweenTurnsCallsOnlyTheNewHandler) {
  auto loop = makeLoop();
  EventFd efd(true);
  int oldCalls = 0, newCalls = 0;
  ASSERT_TRUE(loop->add(efd.fd(), EPOLLIN, [&](uint32_t) { ++oldCalls; }));
  loop->remove(efd.fd());
  ASSERT_TRUE(loop->add(efd.fd(), EPOLLIN, [&](uint32_t) { ++newCalls; }));
  loop->runOnce(1000ms);
  EXPECT_EQ(oldCalls, 0);
  EXPECT_EQ(newCalls, 1);
}

// ---- timers -------------------------------------------------------------------------------------

TEST(EventLoopTest, TimersFireInDeadlineOrder) {
  auto loop = makeLoop();
  std::vector<int> fired;
  loop->after(60ms, [&] { fired.push_back(3); });
  loop->after(20ms, [&] { fired.push_back(1); });
  loop->after(40ms, [&] { fired.push_back(2); });
  loop->after(0ms, [&] { fired.push_back(0); });
  ASSERT_TRUE(turnUntil(*loop, [&] { return fired.size() == 4; }));
  EXPECT_EQ(fired, (std::vector<int>{0, 1, 2, 3}));
}

TEST(EventLoopTest, TimerIdsAreDistinct) {
  auto loop = makeLoop();
  const EventLoop::TimerId a = loop->after(1ms, [] {});
  loop->cancel(a);
  const EventLoop::TimerId b = loop->after(1ms, [] {});
  EXPECT_NE(a, b);
}

TEST(EventLoopTest, CancelledTimerNeverFires) {
  auto loop = makeLoop();
  bool cancelledFired = false, laterFired = false, cancelledInHandlerFired = false;
  const auto cancelled = loop->after(10ms, [&] { cancelledFired = true; });
  const auto cancelledInHandler = loop->after(40ms, [&] { cancelledInHandlerFired = true; });
  loop->after(20ms, [&] { loop->cancel(cancelledInHandler); });
  loop->after(60ms, [&] { laterFired = true; });
  loop->cancel(cancelled);
  ASSERT_TRUE(turnUntil(*loop, [&] { return laterFired; }));
  loop->runOnce(0ms);
  EXPECT_FALSE(cancelledFired);
  EXPECT_FALSE(cancelledInHandlerFired);
}

TEST(EventLoopTest, CancellingAFiredTimerIsHarmless) {
  auto loop = makeLoop();
  int fired = 0;
  const auto id = loop->after(0ms, [&] { ++fired; });
  ASSERT_TRUE(turnUntil(*loop, [&] { return fired == 1; }));
  loop->cancel(id);
  loop->cancel(id + 100);  // never issued
  loop->runOnce(0ms);
  EXPECT_EQ(fired, 1);
}

TEST(EventLoopTest, TimerAddedFromATimerHandlerFires) {
  auto loop = makeLoop();
  std::vector<int> fired;
  loop->after(0ms, [&] {
    fired.push_back(1);
    loop->after(10ms, [&] { fired.push_back(2); });
  });
  ASSERT_TRUE(turnUntil(*loop, [&] { return fired.size() == 2; }));
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
}

TEST(EventLoopTest, TimerAddedFromADescriptorHandlerFires) {
  auto loop = makeLoop();
  EventFd efd(true);
  bool fired = false;
  ASSERT_TRUE(loop->add(efd.fd(), EPOLLIN, [&](uint32_t) {
    loop->remove(efd.fd());
    loop->after(10ms, [&] { fired = true; });
  }));
  ASSERT_TRUE(turnUntil(*loop, [&] { return fired; }));
}

// runOnce waits for the next timer, not for its whole maxWait: a 20 ms timer fires within one
// runOnce(1000 ms), and a 500 ms timer does not (had the turn waited its whole second, the 500 ms
// timer would have fired too). No upper bound on wall time: this machine is shared.
TEST(EventLoopTest, RunOnceReturnsNoLaterThanTheNextTimer) {
  auto loop = makeLoop();
  bool soon = false, late = false;
  loop->after(20ms, [&] { soon = true; });
  loop->after(500ms, [&] { late = true; });
  loop->runOnce(1000ms);
  EXPECT_TRUE(soon);
  EXPECT_FALSE(late);
}

// A cancelled timer's leftover heap entry does not end the wait early (nothing to do then).
TEST(EventLoopTest, CancelledTimerDoesNotShortenTheWait) {
  auto loop = makeLoop();
  bool fired = false;
  loop->cancel(loop->after(1ms, [] {}));
  loop->after(30ms, [&] { fired = true; });
  loop->runOnce(1000ms);
  EXPECT_TRUE(fired);
}

TEST(EventLoopTest, RunOnceWithNothingToDoReturnsAfterMaxWait) {
  auto loop = makeLoop();
  const auto start = Clock::now();
  loop->runOnce(20ms);
  EXPECT_GE(Clock::now() - start, 15ms);  // it did wait (a lower bound only)
}

// ---- run / stop ---------------------------------------------------------------------------------

TEST(EventLoopTest, StopFromADescriptorHandlerEndsRun) {
  auto loop = makeLoop();
  EventFd efd(true);
  int calls = 0;
  bool guard = false;
  ASSERT_TRUE(loop->add(efd.fd(), EPOLLIN, [&](uint32_t) {
    ++calls;
    loop->stop();
  }));
  loop->after(5000ms, [&] {  // should run() not return by itself
    guard = true;
    loop->stop();
  });
  loop->run();
  EXPECT_FALSE(guard);
  EXPECT_EQ(calls, 1);  // ended after the turn that stopped it
}

TEST(EventLoopTest, StopFromATimerEndsRunAndRunCanStartAgain) {
  auto loop = makeLoop();
  int stops = 0;
  bool guard = false;
  const auto guardId = loop->after(5000ms, [&] {
    guard = true;
    loop->stop();
  });
  loop->after(10ms, [&] {
    ++stops;
    loop->stop();
  });
  loop->run();
  EXPECT_EQ(stops, 1);
  // A stopped loop runs again.
  loop->after(10ms, [&] {
    ++stops;
    loop->stop();
  });
  loop->run();
  EXPECT_EQ(stops, 2);
  EXPECT_FALSE(guard);
  loop->cancel(guardId);
}

// post() from other threads: every task runs on the loop's thread, each thread's in the order it
// posted them, and a task may post another.
TEST(EventLoopTest, PostedTasksRunOnTheLoopThreadInOrder) {
  auto loop = makeLoop();
  const std::thread::id loopThread = std::this_thread::get_id();
  std::vector<int> seen[2];
  bool offThread = false;
  std::vector<std::thread> posters;
  for (int t = 0; t < 2; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        loop->post([&, t, i] {
          offThread |= std::this_thread::get_id() != loopThread;
          seen[t].push_back(i);
        });
      }
    });
  }
  for (std::thread& p : posters) p.join();
  bool chained = false;
  loop->post([&] { loop->post([&] { chained = true; }); });
  const auto deadline = Clock::now() + 20s;
  while ((seen[0].size() < 1000 || seen[1].size() < 1000 || !chained) && Clock::now() < deadline) {
    loop->runOnce(50ms);
  }
  EXPECT_FALSE(offThread);
  EXPECT_TRUE(chained);
  for (const auto& s : seen) {
    ASSERT_EQ(s.size(), 1000u);
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(s[static_cast<std::size_t>(i)], i);
  }
}

// A task still queued when the loop goes away is dropped, not run.
TEST(EventLoopTest, TasksQueuedAtDestructionAreDropped) {
  auto ran = std::make_shared<bool>(false);
  {
    auto loop = makeLoop();
    loop->post([ran] { *ran = true; });
  }
  EXPECT_FALSE(*ran);
}

}  // namespace
}  // namespace ringlb::io
