#include "ringlb/io/BufferRing.h"

#include <liburing.h>
#include <sys/mman.h>

#include <cstring>

#include "ringlb/io/Ring.h"

namespace ringlb::io {

std::unique_ptr<BufferRing> BufferRing::create(Ring& ring, uint16_t group, unsigned count,
                                               unsigned bufferSize, std::string* error) {
  if (count == 0 || count > 32768 || (count & (count - 1)) != 0) {
    if (error != nullptr) *error = "buffer count must be a power of two <= 32768";
    return nullptr;
  }
  std::unique_ptr<BufferRing> self(new BufferRing());
  self->owner_ = &ring;
  self->group_ = group;
  self->count_ = count;
  self->size_ = bufferSize;
  self->ringBytes_ = count * sizeof(io_uring_buf);
  // The ring itself must be page aligned; mmap gives that.
  void* r = mmap(nullptr, self->ringBytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED) {
    if (error != nullptr) *error = std::string("mmap buffer ring: ") + std::strerror(errno);
    return nullptr;
  }
  self->ring_ = static_cast<io_uring_buf_ring*>(r);
  // Buffers are reserved, not touched: pages become resident only once the kernel fills them.
  self->bufferBytes_ = std::size_t{count} * bufferSize;
  void* b = mmap(nullptr, self->bufferBytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (b == MAP_FAILED) {
    if (error != nullptr) *error = std::string("mmap buffers: ") + std::strerror(errno);
    return nullptr;
  }
  self->buffers_ = static_cast<uint8_t*>(b);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(self->ring_);
  reg.ring_entries = count;
  reg.bgid = group;
  const int rc = io_uring_register_buf_ring(ring.raw(), &reg, 0);
  if (rc != 0) {
    if (error != nullptr) *error = std::string("register buffer ring: ") + std::strerror(-rc);
    return nullptr;
  }
  self->registered_ = true;
  io_uring_buf_ring_init(self->ring_);
  const int mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; ++i) {
    io_uring_buf_ring_add(self->ring_, self->data(static_cast<uint16_t>(i)), bufferSize,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(self->ring_, static_cast<int>(count));
  self->available_ = count;
  return self;
}

BufferRing::~BufferRing() {
  if (registered_) {
    io_uring_unregister_buf_ring(owner_->raw(), group_);
  }
  if (buffers_ != nullptr) munmap(buffers_, bufferBytes_);
  if (ring_ != nullptr) munmap(ring_, ringBytes_);
}

void BufferRing::recycle(uint16_t id) {
  io_uring_buf_ring_add(ring_, data(id), size_, id, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(ring_, 1);
  ++available_;
}

}  // namespace ringlb::io
