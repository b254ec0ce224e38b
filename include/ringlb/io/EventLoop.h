#pragma once
// The control thread's event loop: epoll for readiness plus a min-heap of timers. It carries the
// signalfd, the admin socket and its clients, and the health checks: a few hundred descriptors
// at most, each handled in microseconds, none on the data path. epoll rather than io_uring
// because the control plane is readiness-driven (accept, line-by-line reads, connect
// completion), and a blocking syscall here can only delay the control plane, never a worker.
//
// Contracts: single-threaded (the thread that calls run()), except post(). Handlers may add,
// modify and remove any descriptor or timer, including their own, and may call stop(). A
// descriptor removed during a turn gets no further callback in that turn, even if it was
// reported ready.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

namespace ringlb::io {

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using Handler = std::function<void(uint32_t events)>;  // EPOLLIN, EPOLLOUT, EPOLLERR, ...
  using TimerHandler = std::function<void()>;
  using TimerId = uint64_t;

  // nullptr (and *error set) if epoll cannot be created.
  static std::unique_ptr<EventLoop> create(std::string* error);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches fd for `events` (level-triggered). False (errno set) if epoll refuses it.
  bool add(int fd, uint32_t events, Handler handler);
  bool modify(int fd, uint32_t events);
  // Stops watching fd (does not close it). Call before closing the descriptor.
  void remove(int fd);

  // Any thread: runs `task` on the loop's thread during a coming turn (tasks run in the order
  // posted). A task still queued when the loop is destroyed is dropped, never run.
  void post(std::function<void()> task);

  // Runs `handler` once, `after` from now. Ids are never reused.
  TimerId after(std::chrono::milliseconds after, TimerHandler handler);
  void cancel(TimerId id);

  // Runs until stop(). `stop()` from a handler ends run() after the current turn.
  void run();
  // One turn: waits up to `maxWait` (or the next timer) and dispatches. For tests and shutdown.
  void runOnce(std::chrono::milliseconds maxWait);
  void stop() { stopped_ = true; }

  Clock::time_point now() const { return now_; }

 private:
  EventLoop() = default;
  void fireTimers();

  struct Timer {
    Clock::time_point when;
    TimerId id;
    bool operator>(const Timer& other) const {
      return when != other.when ? when > other.when : id > other.id;
    }
  };

  void runPosted();

  int epoll_ = -1;
  int postFd_ = -1;  // eventfd: written by post(), watched by the loop
  std::mutex postMutex_;
  std::vector<std::function<void()>> posted_;  // guarded by postMutex_
  bool stopped_ = false;
  Clock::time_point now_ = Clock::now();
  // Handlers by descriptor; a generation per registration so that a descriptor removed and
  // re-added within one turn does not get the old registration's event.
  struct Watch {
    Handler handler;
    uint64_t generation = 0;
  };
  std::unordered_map<int, Watch> watches_;
  uint64_t nextGeneration_ = 1;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::unordered_map<TimerId, TimerHandler> timerHandlers_;  // pending ones; cancel erases
  TimerId nextTimer_ = 1;
};

}  // namespace ringlb::io
