#pragma once
// The io_uring wrapper: ring setup with feature fallback, typed preparation of the operations the
// proxy uses, and batched completion reaping. Everything io_uring-specific stays behind this
// header (liburing.h is included only by src/io/*.cc).
//
// Threading: a Ring is owned by one thread, which alone prepares, submits and reaps
// (IORING_SETUP_SINGLE_ISSUER and DEFER_TASKRUN depend on it).
//
// Submission: prep calls only fill SQEs; they are submitted in one io_uring_enter by wait(),
// or earlier if the submission queue is full. Every prep call is infallible from the caller's
// point of view: each eventually produces the completions documented on it.
//
// When a prep call finds the queue full and the kernel refuses the early submission until
// completions are reaped (-EBUSY: its completion queue overflowed; -EAGAIN: no memory for
// requests), the Ring reaps the completions that are ready (waiting for one if none is) into a
// list of its own and retries; the next wait() returns those first, so none is lost, delivered
// twice or reordered, and the refusal never spins. Any other submission error means the ring
// cannot take work any more (a ring used from a thread that does not own it, a broken ring): it
// is logged at critical level and the process aborts. Returning the failure instead would make
// every prep fallible and leave callers counting completions that never come.
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

struct io_uring;
struct io_uring_sqe;

namespace ringlb::io {

struct Features {
  bool singleIssuer = false;
  bool deferTaskrun = false;
  bool coopTaskrun = false;
  bool registeredRingFd = false;
  bool extArg = false;         // timeouts on wait without an internal timeout SQE
  bool multishotAccept = false;
  bool bufferRing = false;     // ring-mapped provided buffers (5.19+)
  bool minTimeout = false;     // batch wait with min_wait_usec (6.12+)
  // Multishot recv with a per-receive and a total byte cap (6.17+; recvStanding). Probed by
  // use once per process, checking the result rather than a version: kernels before 6.17
  // reject the fields (EINVAL), and a kernel with only the per-receive cap (6.16, or a partial
  // backport) would accept the request and keep receiving past the total.
  bool cappedRecv = false;
  std::string describe() const;
};

struct Completion {
  uint64_t userData = 0;
  int32_t res = 0;
  uint32_t flags = 0;

  // A multishot request stays armed only while the kernel says MORE; re-arm when it does not.
  bool more() const;
  bool hasBuffer() const;
  uint16_t bufferId() const;
  // A completion carrying provided buffer `id`, as the kernel posts it (for tests and fakes);
  // `more`: from a multishot request that stays armed.
  static Completion withBuffer(uint64_t userData, int32_t res, uint16_t id, bool more = false);
};

class Ring {
 public:
  struct Options {
    unsigned entries = 4096;  // SQ size; the CQ is 4x, and the kernel never drops (FEAT_NODROP)
  };

  // Sets up a ring with the best flags this kernel accepts, dropping them one by one on EINVAL.
  // Returns null with *error set if no ring can be created at all.
  static std::unique_ptr<Ring> create(const Options& options, std::string* error);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  const Features& features() const { return features_; }
  // SQEs prepared so far (each is submitted by the next wait(), or earlier to make room).
  uint64_t prepared() const { return prepared_; }
  io_uring* raw() { return ring_.get(); }

  // Multishot accept (single shot where unsupported: then re-arm on every completion, which the
  // caller does anyway whenever more() is false). Completion: res = new fd, or -errno.
  void accept(int listenFd, uint64_t userData);
  // connect(). Completion: 0, or -errno (-ECANCELED when cancelled: the caller times connects
  // out on its own clock, one SQE and one completion per attempt instead of a linked timeout's
  // two).
  void connect(int fd, const sockaddr* addr, socklen_t len, uint64_t userData);
  // recv into a buffer chosen by the kernel from provided-buffer group `group`.
  // Completion: res > 0 bytes with hasBuffer(); 0 on EOF; -ENOBUFS when the group is empty
  // (back-pressure, not an error; kernel 6.18 answers it at once even when the socket has
  // nothing to read); other -errno.
  void recvProvided(int fd, uint16_t group, uint64_t userData);
  // A standing (multishot) recv from provided-buffer group `group`, bounded by `limit` bytes
  // (requires features().cappedRecv). Each completion carries at most `limit` bytes in one
  // buffer, with more() while the request stays armed. It ends with a completion without more():
  // once it has received `limit` bytes or more in all (that last completion carries bytes), at
  // end of stream (0), on an error (-ENOBUFS when the group ran empty), or when cancelled. So
  // one arming receives at most 2 * limit - 1 bytes; how many buffers that takes depends on how
  // the bytes arrive (one per completion).
  void recvStanding(int fd, uint16_t group, unsigned limit, uint64_t userData);
  // recv into a caller-owned buffer, which must stay valid until the completion.
  // Completion: bytes, 0 on EOF, or -errno; with `noWait` (MSG_DONTWAIT), -EAGAIN at once when
  // nothing is queued.
  void recv(int fd, void* buf, unsigned len, bool noWait, uint64_t userData);
  // send(MSG_NOSIGNAL). Completion: bytes sent (may be short), or -errno. With `noWait`
  // (MSG_DONTWAIT) a full socket answers -EAGAIN at once instead of waiting for room. With
  // `more` (MSG_MORE) TCP keeps a last partial segment queued until the next send without it, a
  // shutdown or close (whose FIN then rides in that segment), or a push (net::pushPending).
  void send(int fd, const void* data, std::size_t len, bool noWait, bool more, uint64_t userData);
  // One-shot poll for `events` (POLLIN/POLLOUT). Completion: the ready mask, or -errno
  // (-ECANCELED when cancelled). Splice relaying waits with this and then calls splice(2)
  // itself: io_uring cannot run a splice inline and hands every one to an io-wq thread.
  void poll(int fd, unsigned events, uint64_t userData);
  // read() (used for the worker's wake-up eventfd).
  void read(int fd, void* buf, unsigned len, uint64_t userData);
  // A standalone timeout. Completion: -ETIME when it fires.
  void timeout(std::chrono::milliseconds after, uint64_t userData);
  // Cancels every request on `fd`. Completion: number cancelled or -ENOENT.
  void cancelFd(int fd, uint64_t userData);
  // Cancels the request(s) carrying `target` user data. Completion: 0/-ENOENT/-EALREADY.
  void cancel(uint64_t target, uint64_t userData);

  // Submits everything prepared and waits until at least one completion is ready or `timeout`
  // passes; returns the completions reaped (the CQ is advanced once for the whole batch). The
  // span is valid until the next call; prep calls made while iterating it do not touch it.
  // Completions reaped early by a prep call (see Submission above) come first, in the order the
  // kernel posted them, and then wait() does not block. Batched waiting (kernel 6.12+,
  // features().minTimeout; ignored before): with `batch` > 1 and `holdUsec` > 0, once a
  // completion is ready the kernel holds it up to `holdUsec` more while others arrive, up to
  // `batch` of them: fewer wake-ups under load, at most `holdUsec` of added latency per call.
  std::span<const Completion> wait(std::chrono::microseconds timeout, unsigned batch = 1,
                                   unsigned holdUsec = 0);

 private:
  struct Deleter {
    void operator()(io_uring* ring) const;
  };
  Ring() = default;
  ::io_uring_sqe* sqe();  // never null: submits to make room when the SQ is full
  // Submits until `n` SQEs are free (links reserve theirs together); see Submission above for
  // what a refused or failed submission does.
  void makeRoom(unsigned n);
  // Appends the ready completions to `out` (minus liburing's internal timeouts) and advances the
  // CQ past them; returns how many CQ entries it consumed.
  unsigned reapInto(std::vector<Completion>& out);

  std::unique_ptr<io_uring, Deleter> ring_;
  Features features_;
  Options options_;
  std::vector<Completion> batch_;     // what the last wait() returned
  std::vector<Completion> deferred_;  // reaped by makeRoom(), returned first by the next wait()
  // io_uring_submit; tests replace it (RingTestAccess) to play a kernel that refuses submissions,
  // which no current kernel can be made to do on demand.
  uint64_t prepared_ = 0;
  int (*submit_)(io_uring*) = nullptr;
  friend struct RingTestAccess;
};

// Start-up check: can this process use io_uring at all, with the operations ringlb needs?
// Returns an empty string if yes, else a one-line reason naming the cause (kernel too old,
// disabled by the kernel.io_uring_disabled sysctl, blocked by seccomp/container policy,
// missing operation).
std::string probeIoUring();

}  // namespace ringlb::io
