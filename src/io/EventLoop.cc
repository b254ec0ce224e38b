#include "ringlb/io/EventLoop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace ringlb::io {

std::unique_ptr<EventLoop> EventLoop::create(std::string* error) {
  std::unique_ptr<EventLoop> loop(new EventLoop());
  loop->epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (loop->epoll_ < 0) {
    if (error != nullptr) *error = std::string("epoll_create1: ") + std::strerror(errno);
    return nullptr;
  }
  loop->postFd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  EventLoop* raw = loop.get();
  if (loop->postFd_ < 0 || !loop->add(loop->postFd_, EPOLLIN, [raw](uint32_t) { raw->runPosted(); })) {
    if (error != nullptr) *error = std::string("eventfd (event loop): ") + std::strerror(errno);
    return nullptr;
  }
  return loop;
}

EventLoop::~EventLoop() {
  if (postFd_ >= 0) ::close(postFd_);
  if (epoll_ >= 0) ::close(epoll_);
}

void EventLoop::post(std::function<void()> task) {
  {
    std::lock_guard lock(postMutex_);
    posted_.push_back(std::move(task));
  }
  const uint64_t one = 1;
  // Fails only with EAGAIN (counter at its maximum): a wake-up is pending then anyway.
  [[maybe_unused]] const ssize_t n = ::write(postFd_, &one, sizeof one);
}

void EventLoop::runPosted() {
  uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(postFd_, &count, sizeof count);
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(postMutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();  // outside the lock: a task may post()
}

bool EventLoop::add(int fd, uint32_t events, Handler handler) {
  const uint64_t generation = nextGeneration_++ & 0xffffffffu;  // fits the event's high half
  epoll_event ev{};
  ev.events = events;
  // The descriptor in the low half, its registration's generation in the high half.
  ev.data.u64 = (generation << 32) | static_cast<uint32_t>(fd);
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  watches_[fd] = Watch{std::move(handler), generation};
  return true;
}

bool EventLoop::modify(int fd, uint32_t events) {
  const auto it = watches_.find(fd);
  if (it == watches_.end()) {
    errno = ENOENT;
    return false;
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (it->second.generation << 32) | static_cast<uint32_t>(fd);
  return ::epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::remove(int fd) {
  if (watches_.erase(fd) > 0) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::after(std::chrono::milliseconds after, TimerHandler handler) {
  const TimerId id = nextTimer_++;
  timers_.push(Timer{Clock::now() + after, id});
  timerHandlers_.emplace(id, std::move(handler));
  return id;
}

void EventLoop::cancel(TimerId id) { timerHandlers_.erase(id); }

void EventLoop::run() {
  stopped_ = false;
  while (!stopped_) runOnce(std::chrono::milliseconds(1000));
}

void EventLoop::runOnce(std::chrono::milliseconds maxWait) {
  now_ = Clock::now();
  // Cancelled timers leave their heap entry behind; drop them so they do not shorten the wait.
  while (!timers_.empty() && !timerHandlers_.contains(timers_.top().id)) timers_.pop();
  auto wait = maxWait;
  if (!timers_.empty()) {
    const auto until =
        std::chrono::ceil<std::chrono::milliseconds>(timers_.top().when - now_);
    wait = std::clamp(until, std::chrono::milliseconds(0), maxWait);
  }
  std::array<epoll_event, 64> events{};
  const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()),
                             static_cast<int>(wait.count()));
  now_ = Clock::now();
  for (int i = 0; i < n; ++i) {
    const int fd = static_cast<int>(events[i].data.u64 & 0xffffffffu);
    const uint64_t generation = events[i].data.u64 >> 32;
    const auto it = watches_.find(fd);
    // Removed (or removed and re-added) by an earlier handler of this turn: stale.
    if (it == watches_.end() || it->second.generation != generation) continue;
    Handler handler = it->second.handler;  // a copy: the handler may remove itself
    handler(events[i].events);
  }
  fireTimers();
}

void EventLoop::fireTimers() {
  now_ = Clock::now();
  while (!timers_.empty() && timers_.top().when <= now_) {
    const TimerId id = timers_.top().id;
    timers_.pop();
    const auto it = timerHandlers_.find(id);
    if (it == timerHandlers_.end()) continue;  // cancelled
    TimerHandler handler = std::move(it->second);
    timerHandlers_.erase(it);
    handler();
  }
}

}  // namespace ringlb::io
