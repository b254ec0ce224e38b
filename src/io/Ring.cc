#include "ringlb/io/Ring.h"

#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>

// Newer than liburing 2.3's uapi header; values from the kernel's include/uapi/linux/io_uring.h.
#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15)
#endif

namespace ringlb::io {
namespace {

// Timespecs handed to the kernel by pointer must live until the SQE is submitted. The kernel
// copies them during io_uring_enter, so a per-thread queue cleared after each submit suffices.
thread_local std::deque<__kernel_timespec> tlsTimespecs;

__kernel_timespec* stableTimespec(std::chrono::milliseconds ms) {
  auto& ts = tlsTimespecs.emplace_back();
  ts.tv_sec = ms.count() / 1000;
  ts.tv_nsec = (ms.count() % 1000) * 1000000;
  return &ts;
}

// Does this kernel end a multishot recv once it has received the total given in sqe->optlen
// (io_uring/net.c IORING_RECV_MSHOT_LIM, Linux 6.17)? Asked by use rather than by version, on a
// throw-away ring and socket pair: 8 bytes queued, a multishot recv capped at 4 bytes per receive
// and 4 in all must answer exactly one completion of 4 bytes, in a provided buffer, without MORE.
// Kernels before 6.16 reject a multishot recv with a length (EINVAL), 6.16 rejects optlen
// (EINVAL), and one with the per-receive cap but not the total (a partial backport) would post
// MORE and go on receiving: all fail the probe.
bool probeCappedRecv() {
  io_uring ring{};
  if (io_uring_queue_init(4, &ring, 0) != 0) return false;
  bool supported = false;
  int fds[2] = {-1, -1};
  void* mem = MAP_FAILED;
  const std::size_t ringBytes = 4096;
  constexpr uint16_t kGroup = 1;
  constexpr unsigned kCap = 4;
  uint8_t buffer[64];
  bool registered = false;
  do {
    mem = mmap(nullptr, ringBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) break;
    auto* bufRing = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(bufRing);
    reg.ring_entries = 1;
    reg.bgid = kGroup;
    if (io_uring_register_buf_ring(&ring, &reg, 0) != 0) break;
    registered = true;
    io_uring_buf_ring_init(bufRing);
    io_uring_buf_ring_add(bufRing, buffer, sizeof buffer, 0, io_uring_buf_ring_mask(1), 0);
    io_uring_buf_ring_advance(bufRing, 1);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) break;
    if (::write(fds[1], "12345678", 8) != 8) break;
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    io_uring_prep_recv(s, fds[0], nullptr, kCap, 0);
    s->ioprio |= IORING_RECV_MULTISHOT;
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = kGroup;
    s->file_index = kCap;  // sqe->optlen in newer headers: the total cap
    if (io_uring_submit(&ring) != 1) break;
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec wait{.tv_sec = 1, .tv_nsec = 0};
    if (io_uring_wait_cqe_timeout(&ring, &cqe, &wait) != 0) break;
    supported = cqe->res == static_cast<int>(kCap) && (cqe->flags & IORING_CQE_F_BUFFER) != 0 &&
                (cqe->flags & IORING_CQE_F_MORE) == 0;
    io_uring_cqe_seen(&ring, cqe);
  } while (false);
  // Exiting the ring cancels whatever is still armed (an old kernel's recv that went on).
  if (registered) io_uring_unregister_buf_ring(&ring, kGroup);
  io_uring_queue_exit(&ring);
  if (mem != MAP_FAILED) munmap(mem, ringBytes);
  for (const int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
  return supported;
}

}  // namespace

bool Completion::more() const { return (flags & IORING_CQE_F_MORE) != 0; }
bool Completion::hasBuffer() const { return (flags & IORING_CQE_F_BUFFER) != 0; }
uint16_t Completion::bufferId() const {
  return static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
}

Completion Completion::withBuffer(uint64_t userData, int32_t res, uint16_t id, bool more) {
  return Completion{userData, res,
                    IORING_CQE_F_BUFFER | (more ? IORING_CQE_F_MORE : 0u) |
                        (uint32_t{id} << IORING_CQE_BUFFER_SHIFT)};
}

std::string Features::describe() const {
  std::string out;
  auto add = [&out](bool on, const char* name) {
    out += on ? " +" : " -";
    out += name;
  };
  add(singleIssuer, "single_issuer");
  add(deferTaskrun, "defer_taskrun");
  add(coopTaskrun, "coop_taskrun");
  add(registeredRingFd, "registered_ring_fd");
  add(extArg, "ext_arg");
  add(multishotAccept, "multishot_accept");
  add(bufferRing, "buffer_ring");
  add(minTimeout, "min_timeout");
  add(cappedRecv, "capped_multishot_recv");
  return out.empty() ? out : out.substr(1);
}

void Ring::Deleter::operator()(io_uring* ring) const {
  io_uring_queue_exit(ring);
  delete ring;
}

Ring::~Ring() = default;

std::unique_ptr<Ring> Ring::create(const Options& options, std::string* error) {
  // Best first. DEFER_TASKRUN runs completion work only when we reap (no IPIs, no task work
  // interrupting the loop) and needs SINGLE_ISSUER; COOP_TASKRUN is the pre-6.1 fallback.
  // A kernel that does not know a flag answers EINVAL, so we drop flags until one is accepted.
  const unsigned kBase = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  const unsigned attempts[] = {
      kBase | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      kBase | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
      kBase | IORING_SETUP_COOP_TASKRUN,
      IORING_SETUP_CQSIZE,
      0,
  };
  std::unique_ptr<Ring> self(new Ring());
  self->options_ = options;
  self->submit_ = &io_uring_submit;
  auto* raw = new io_uring{};
  int rc = -EINVAL;
  unsigned chosen = 0;
  for (unsigned flags : attempts) {
    io_uring_params params{};
    params.flags = flags;
    params.cq_entries = options.entries * 4;
    rc = io_uring_queue_init_params(options.entries, raw, &params);
    if (rc == 0) {
      chosen = flags;
      self->features_.extArg = (params.features & IORING_FEAT_EXT_ARG) != 0;
      self->features_.minTimeout = (params.features & IORING_FEAT_MIN_TIMEOUT) != 0;
      break;
    }
    if (rc != -EINVAL) break;
  }
  if (rc != 0) {
    delete raw;
    if (error != nullptr) *error = std::string("io_uring_setup failed: ") + std::strerror(-rc);
    return nullptr;
  }
  self->ring_.reset(raw);
  self->features_.singleIssuer = (chosen & IORING_SETUP_SINGLE_ISSUER) != 0;
  self->features_.deferTaskrun = (chosen & IORING_SETUP_DEFER_TASKRUN) != 0;
  self->features_.coopTaskrun = (chosen & IORING_SETUP_COOP_TASKRUN) != 0;
  // A registered ring fd saves an fget/fput on every io_uring_enter; optional (5.18+).
  self->features_.registeredRingFd = io_uring_register_ring_fd(raw) == 1;
  if (io_uring_probe* probe = io_uring_get_probe_ring(raw)) {
    // Multishot accept and ring-mapped buffers arrived in 5.19 together with IORING_OP_SOCKET,
    // which is the closest thing to a probe bit they have.
    const bool is519 = io_uring_opcode_supported(probe, IORING_OP_SOCKET) != 0;
    self->features_.multishotAccept = is519;
    self->features_.bufferRing = is519;
    io_uring_free_probe(probe);
  }
  static const bool cappedRecv = probeCappedRecv();  // once per process: it costs a ring
  self->features_.cappedRecv = self->features_.bufferRing && cappedRecv;
  return self;
}

io_uring_sqe* Ring::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(ring_.get());
  if (s == nullptr) {
    makeRoom(1);
    s = io_uring_get_sqe(ring_.get());
  }
  ++prepared_;
  return s;
}

void Ring::makeRoom(unsigned n) {
  io_uring* ring = ring_.get();
  if (n > ring->sq.ring_entries) {
    // A programming error (a link longer than the queue); no number of submits could help.
    spdlog::critical("io_uring: cannot reserve {} SQEs in a submission queue of {}", n,
                     ring->sq.ring_entries);
    spdlog::default_logger()->flush();
    std::abort();
  }
  while (io_uring_sq_space_left(ring) < n) {
    // Push what is prepared to the kernel; this does not wait for completions.
    const int rc = submit_(ring);
    if (rc > 0 || rc == -EINTR) continue;
    if (rc == 0 || rc == -EBUSY || rc == -EAGAIN) {
      // The kernel took nothing until completions are reaped (or request memory is freed). Reap
      // them for the next wait(): io_uring_get_events runs deferred task work and moves
      // overflowed completions into the CQ without waiting. If none is ready, wait for one: a
      // pause until the kernel makes progress, never a spin.
      io_uring_get_events(ring);
      if (reapInto(deferred_) == 0) {
        io_uring_cqe* cqe = nullptr;
        io_uring_wait_cqe(ring, &cqe);
        reapInto(deferred_);
      }
      continue;
    }
    spdlog::critical("io_uring_submit failed: {} ({}); the ring cannot take more work, aborting",
                     std::strerror(-rc), rc);
    spdlog::default_logger()->flush();
    std::abort();
  }
}

void Ring::accept(int listenFd, uint64_t userData) {
  io_uring_sqe* s = sqe();
  if (features_.multishotAccept) {
    io_uring_prep_multishot_accept(s, listenFd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  } else {
    io_uring_prep_accept(s, listenFd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  }
  io_uring_sqe_set_data64(s, userData);
}

void Ring::connect(int fd, const sockaddr* addr, socklen_t len, uint64_t userData) {
  io_uring_sqe* c = sqe();
  io_uring_prep_connect(c, fd, addr, len);
  io_uring_sqe_set_data64(c, userData);
}

void Ring::recvProvided(int fd, uint16_t group, uint64_t userData) {
  io_uring_sqe* s = sqe();
  // len 0: the kernel uses the selected buffer's full length.
  io_uring_prep_recv(s, fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = group;
  io_uring_sqe_set_data64(s, userData);
}

void Ring::recvStanding(int fd, uint16_t group, unsigned limit, uint64_t userData) {
  io_uring_sqe* s = sqe();
  // len caps each receive; optlen (file_index in liburing 2.3's header: the same field) caps the
  // total, after which the kernel ends the request.
  io_uring_prep_recv(s, fd, nullptr, limit, 0);
  s->ioprio |= IORING_RECV_MULTISHOT;
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = group;
  s->file_index = limit;
  io_uring_sqe_set_data64(s, userData);
}

void Ring::recv(int fd, void* buf, unsigned len, bool noWait, uint64_t userData) {
  io_uring_sqe* s = sqe();
  io_uring_prep_recv(s, fd, buf, len, noWait ? MSG_DONTWAIT : 0);
  io_uring_sqe_set_data64(s, userData);
}

void Ring::send(int fd, const void* data, std::size_t len, bool noWait, bool more,
                uint64_t userData) {
  io_uring_sqe* s = sqe();
  io_uring_prep_send(s, fd, data, len,
                     MSG_NOSIGNAL | (noWait ? MSG_DONTWAIT : 0) | (more ? MSG_MORE : 0));
  io_uring_sqe_set_data64(s, userData);
}

void Ring::poll(int fd, unsigned events, uint64_t userData) {
  io_uring_sqe* s = sqe();
  io_uring_prep_poll_add(s, fd, events);
  io_uring_sqe_set_data64(s, userData);
}

void Ring::read(int fd, void* buf, unsigned len, uint64_t userData) {
  io_uring_sqe* s = sqe();
  io_uring_prep_read(s, fd, buf, len, 0);
  io_uring_sqe_set_data64(s, userData);
}

void Ring::timeout(std::chrono::milliseconds after, uint64_t userData) {
  io_uring_sqe* s = sqe();
  io_uring_prep_timeout(s, stableTimespec(after), 0, 0);
  io_uring_sqe_set_data64(s, userData);
}

void Ring::cancelFd(int fd, uint64_t userData) {
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel_fd(s, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(s, userData);
}

void Ring::cancel(uint64_t target, uint64_t userData) {
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, target, 0);
  io_uring_sqe_set_data64(s, userData);
}

unsigned Ring::reapInto(std::vector<Completion>& out) {
  io_uring* ring = ring_.get();
  unsigned head = 0;
  unsigned seen = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(ring, head, cqe) {
    ++seen;
    // Without EXT_ARG, liburing implements the wait timeout with an internal SQE of its own.
    if (cqe->user_data == LIBURING_UDATA_TIMEOUT) continue;
    out.push_back(Completion{cqe->user_data, cqe->res, cqe->flags});
  }
  io_uring_cq_advance(ring, seen);
  return seen;
}

std::span<const Completion> Ring::wait(std::chrono::microseconds timeout, unsigned batch,
                                       unsigned holdUsec) {
  io_uring* ring = ring_.get();
  // The caller is done with the previous span. Completions makeRoom() reaped since come first;
  // the swap leaves deferred_ with the old batch's (cleared) storage, so the span returned below
  // never shares storage with deferred_, which prep calls may append to while it is iterated.
  batch_.clear();
  batch_.swap(deferred_);
  // With completions already in hand, submit and collect what is ready, but do not block.
  if (!batch_.empty()) timeout = std::chrono::microseconds(0);
  __kernel_timespec ts{};
  ts.tv_sec = timeout.count() / 1000000;
  ts.tv_nsec = (timeout.count() % 1000000) * 1000;
  if (batch > 1 && features_.minTimeout && holdUsec > 0 && batch_.empty()) {
    // liburing 2.3 cannot pass min_wait_usec (the field was `pad` then), so enter by hand:
    // publish the SQ tail as io_uring_submit would, then one io_uring_enter that submits and
    // waits for a batch.
    io_uring_sq* sq = &ring->sq;
    if (sq->sqe_head != sq->sqe_tail) {
      sq->sqe_head = sq->sqe_tail;
      io_uring_smp_store_release(sq->ktail, sq->sqe_tail);
    }
    const unsigned toSubmit = sq->sqe_tail - io_uring_smp_load_acquire(sq->khead);
    io_uring_getevents_arg arg{};
    arg.ts = reinterpret_cast<uint64_t>(&ts);
    arg.pad = holdUsec;  // min_wait_usec since 6.12
    unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
    int fd = ring->ring_fd;
    if (features_.registeredRingFd) {
      flags |= IORING_ENTER_REGISTERED_RING;
      fd = ring->enter_ring_fd;
    }
    io_uring_enter2(static_cast<unsigned>(fd), toSubmit, batch, flags,
                    reinterpret_cast<sigset_t*>(&arg), sizeof arg);
  } else {
    io_uring_cqe* first = nullptr;
    // One io_uring_enter: submits the whole batch prepared since the last call and waits.
    // -ETIME (timeout) and -EINTR (signal) are normal outcomes: reap whatever is there.
    io_uring_submit_and_wait_timeout(ring, &first, 1, &ts, nullptr);
  }
  // Timespecs may go only once every SQE that points at one reached the kernel.
  if (io_uring_sq_ready(ring) == 0) tlsTimespecs.clear();
  reapInto(batch_);
  return batch_;
}

std::string probeIoUring() {
  io_uring ring{};
  const int rc = io_uring_queue_init(8, &ring, 0);
  if (rc == -ENOSYS) {
    return "io_uring is not available: the kernel has no io_uring_setup (too old, or built "
           "without CONFIG_IO_URING)";
  }
  if (rc == -EPERM || rc == -EACCES) {
    std::string sysctl;
    std::ifstream("/proc/sys/kernel/io_uring_disabled") >> sysctl;
    if (!sysctl.empty() && sysctl != "0") {
      return "io_uring is disabled by sysctl kernel.io_uring_disabled=" + sysctl +
             " (set it to 0 to run ringlb)";
    }
    return "io_uring_setup was denied (" + std::string(std::strerror(-rc)) +
           "): blocked by a seccomp or container security policy";
  }
  if (rc < 0) return std::string("io_uring_setup failed: ") + std::strerror(-rc);

  std::string missing;
  if (io_uring_probe* probe = io_uring_get_probe_ring(&ring)) {
    const std::pair<int, const char*> needed[] = {
        {IORING_OP_ACCEPT, "ACCEPT"},         {IORING_OP_CONNECT, "CONNECT"},
        {IORING_OP_RECV, "RECV"},             {IORING_OP_SEND, "SEND"},
        {IORING_OP_POLL_ADD, "POLL_ADD"},
        {IORING_OP_TIMEOUT, "TIMEOUT"},
        {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"}, {IORING_OP_READ, "READ"},
        {IORING_OP_SOCKET, "SOCKET (Linux 5.19)"},
    };
    for (const auto& [op, name] : needed) {
      if (io_uring_opcode_supported(probe, op) == 0) missing += std::string(missing.empty() ? "" : ", ") + name;
    }
    io_uring_free_probe(probe);
  } else {
    missing = "opcode probing (Linux 5.6)";
  }
  io_uring_queue_exit(&ring);
  if (!missing.empty()) {
    return "io_uring is too old on this kernel: missing " + missing + "; ringlb needs Linux 5.19+";
  }
  return {};
}

}  // namespace ringlb::io
