#pragma once
// A ring of provided buffers (IORING_REGISTER_PBUF_RING) for recv with buffer selection.
// The kernel picks a buffer only when data arrives, so an idle connection holds no buffer: memory
// follows the number of connections moving data, not the number open.
//
// liburing 2.3 lacks io_uring_setup_buf_ring: we mmap the page-aligned ring ourselves and
// register it. Owned by the ring's thread; recycle() must be called exactly once per buffer the
// kernel handed out, when its bytes have been fully sent.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

struct io_uring_buf_ring;

namespace ringlb::io {

class Ring;

class BufferRing {
 public:
  // count must be a power of two <= 32768. Returns null with *error set on failure.
  static std::unique_ptr<BufferRing> create(Ring& ring, uint16_t group, unsigned count,
                                            unsigned bufferSize, std::string* error);
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  uint16_t group() const { return group_; }
  unsigned bufferSize() const { return size_; }
  unsigned count() const { return count_; }
  unsigned available() const { return available_; }
  uint8_t* data(uint16_t id) { return buffers_ + std::size_t{id} * size_; }
  // Gives buffer `id` back to the kernel.
  void recycle(uint16_t id);
  // Bookkeeping for buffers the kernel handed out (call once per completion with a buffer).
  void taken() { --available_; }

 private:
  BufferRing() = default;
  Ring* owner_ = nullptr;
  io_uring_buf_ring* ring_ = nullptr;
  std::size_t ringBytes_ = 0;
  uint8_t* buffers_ = nullptr;
  std::size_t bufferBytes_ = 0;
  uint16_t group_ = 0;
  unsigned count_ = 0;
  unsigned size_ = 0;
  unsigned available_ = 0;
  bool registered_ = false;
};

}  // namespace ringlb::io
