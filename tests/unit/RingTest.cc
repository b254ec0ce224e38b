// io::Ring's submission path on a small real io_uring (no sockets: reads of an eventfd and 0 ms
// timeouts): operations beyond what the queues hold are all delivered once; a submission the
// kernel refuses neither spins nor loses completions; one that fails stops the process loudly.
#include "ringlb/io/Ring.h"

// White-box: the refusal test plays the kernel's side of io_uring_submit, so it includes liburing
// as src/io/ does.
#include <liburing.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <thread>
#include <vector>

namespace ringlb::io {

// Swaps Ring's io_uring_submit for a fake (a friend of Ring).
struct RingTestAccess {
  static void setSubmit(Ring& ring, int (*submit)(io_uring*)) { ring.submit_ = submit; }
};

namespace {

using namespace std::chrono_literals;

constexpr unsigned kEntries = 4;  // a 4-entry SQ and a 16-entry CQ

std::unique_ptr<Ring> smallRing() {
  std::string error;
  std::unique_ptr<Ring> ring = Ring::create(Ring::Options{.entries = kEntries}, &error);
  EXPECT_NE(ring, nullptr) << error;
  return ring;
}

// An eventfd in semaphore mode holding `count`: each 8-byte read completes at once, reading 1.
class Semaphore {
 public:
  explicit Semaphore(uint64_t count) : fd_(eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE)) {
    EXPECT_GE(fd_, 0);
    EXPECT_EQ(::write(fd_, &count, sizeof count), static_cast<ssize_t>(sizeof count));
  }
  ~Semaphore() { ::close(fd_); }
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Every completion wait() returns, in delivery order, until `expected` arrived or 50 waits in a
// row brought nothing (then the caller's checks report what is missing).
std::vector<Completion> collect(Ring& ring, std::size_t expected) {
  std::vector<Completion> out;
  for (int idle = 0; out.size() < expected && idle < 50;) {
    const std::span<const Completion> batch = ring.wait(100ms);
    idle = batch.empty() ? idle + 1 : 0;
    out.insert(out.end(), batch.begin(), batch.end());
  }
  return out;
}

// How many times each user data 0..count-1 was delivered; anything else fails the test.
std::vector<int> deliveries(const std::vector<Completion>& completions, std::size_t count) {
  std::vector<int> times(count, 0);
  for (const Completion& c : completions) {
    if (c.userData < count) {
      ++times[c.userData];
    } else {
      ADD_FAILURE() << "unexpected completion with user data " << c.userData;
    }
  }
  return times;
}

// Far more operations than the SQ (4) and the CQ (16) hold, prepared with no wait() in between,
// are each delivered exactly once by the waits that follow.
TEST(RingTest, OperationsBeyondBothQueuesAreEachDeliveredOnce) {
  const std::unique_ptr<Ring> ring = smallRing();
  ASSERT_NE(ring, nullptr);
  constexpr std::size_t kOps = 1000;
  Semaphore semaphore(kOps);
  std::vector<uint64_t> values(kOps);
  // Reads complete while being submitted; timeouts complete later, from a kernel timer.
  for (std::size_t i = 0; i < kOps; ++i) {
    if (i % 2 == 0) {
      ring->read(semaphore.fd(), &values[i], sizeof values[i], i);
    } else {
      ring->timeout(0ms, i);
    }
  }
  const std::vector<Completion> completions = collect(*ring, kOps);
  const std::vector<int> times = deliveries(completions, kOps);
  for (std::size_t i = 0; i < kOps; ++i) EXPECT_EQ(times[i], 1) << "user data " << i;
  for (const Completion& c : completions) {
    EXPECT_EQ(c.res, c.userData % 2 == 0 ? 8 : -ETIME) << "user data " << c.userData;
  }
  EXPECT_TRUE(ring->wait(0ms).empty()) << "a completion was delivered twice";
}

// A fake io_uring_submit that refuses (-EBUSY) while completions wait to be reaped, as 5.x
// kernels do once their CQ overflowed. It counts the retries made without reaping anything
// in between (each one a turn of a spin) and, after kGiveUp of them, lets submissions through so
// that a spinning Ring fails this test instead of hanging it.
struct Refusals {
  int refused = 0;
  int retriesWithoutReaping = 0;
  bool lastRefused = false;
  unsigned headAtRefusal = 0;
};
Refusals refusals;
constexpr int kGiveUp = 1000;

int refuseWhileCompletionsWait(io_uring* ring) {
  // The kernel sees completions still in its task-work list too, not only those in the CQ.
  io_uring_get_events(ring);
  const unsigned head = io_uring_smp_load_acquire(ring->cq.khead);
  if (refusals.lastRefused && head == refusals.headAtRefusal) ++refusals.retriesWithoutReaping;
  if (io_uring_cq_ready(ring) > 0 && refusals.retriesWithoutReaping < kGiveUp) {
    ++refusals.refused;
    refusals.lastRefused = true;
    refusals.headAtRefusal = head;
    return -EBUSY;
  }
  refusals.lastRefused = false;
  return io_uring_submit(ring);
}

// When the kernel refuses to take more SQEs until completions are reaped, a prep call that finds
// the SQ full reaps them before retrying, and the next wait() hands them over first: every
// completion arrives once, in the order the kernel posted it.
TEST(RingTest, RefusedSubmissionReapsForTheNextWaitInsteadOfSpinning) {
  const std::unique_ptr<Ring> ring = smallRing();
  ASSERT_NE(ring, nullptr);
  refusals = Refusals{};
  RingTestAccess::setSubmit(*ring, &refuseWhileCompletionsWait);
  constexpr std::size_t kOps = 200;
  Semaphore semaphore(kOps);
  std::vector<uint64_t> values(kOps);
  for (std::size_t i = 0; i < kOps; ++i) {
    ring->read(semaphore.fd(), &values[i], sizeof values[i], i);
  }
  EXPECT_GT(refusals.refused, 0) << "the fake kernel never refused: the test proves nothing";
  EXPECT_EQ(refusals.retriesWithoutReaping, 0) << "a refused submission was retried as is";

  const std::vector<Completion> completions = collect(*ring, kOps);
  const std::vector<int> times = deliveries(completions, kOps);
  for (std::size_t i = 0; i < kOps; ++i) EXPECT_EQ(times[i], 1) << "user data " << i;
  // Eventfd reads complete while being submitted, so the kernel posts them in submission order;
  // completions reaped early must come before those reaped by wait() itself.
  for (std::size_t i = 1; i < completions.size(); ++i) {
    EXPECT_LT(completions[i - 1].userData, completions[i].userData) << "at position " << i;
  }
  EXPECT_TRUE(ring->wait(0ms).empty()) << "a completion was delivered twice";
}

// A submission that fails for any other reason means the ring cannot take work any more; the
// process stops with a message naming the failure rather than spin. Here the failure is real:
// the SQ fills up on a thread that does not own the ring, which the kernel refuses (a
// single-issuer ring, or a ring fd registered by its owner alone).
TEST(RingDeathTest, FailedSubmissionAbortsWithAMessage) {
  {
    const std::unique_ptr<Ring> probe = smallRing();
    ASSERT_NE(probe, nullptr);
    if (!probe->features().singleIssuer && !probe->features().registeredRingFd) {
      GTEST_SKIP() << "this kernel lets any thread submit to any ring";
    }
  }
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        alarm(30);  // a spinning Ring would never die; SIGALRM makes that a failed expectation
        spdlog::set_default_logger(spdlog::stderr_logger_st("ring-death-test"));
        const std::unique_ptr<Ring> ring = smallRing();
        Semaphore semaphore(kEntries + 1);
        uint64_t values[kEntries + 1];
        std::thread other([&] {
          for (unsigned i = 0; i <= kEntries; ++i) ring->read(semaphore.fd(), &values[i], 8, i);
        });
        other.join();
      },
      "io_uring_submit failed: .*the ring cannot take more work");
}

}  // namespace
}  // namespace ringlb::io
