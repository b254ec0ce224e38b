#pragma once
// A private relay buffer: memory of its own for one direction's pending bytes while its
// receiver is slow (see proxy::Direction::own). Mapped with mmap and unmapped on release, so
// the memory really goes back to the system when the bytes are gone (a malloc'd block would
// stay resident in the allocator's arena). A few released mappings are kept per thread for
// reuse, since slow moments come in bursts; that cache is bounded (kCacheMax mappings).
//
// Threading: each object is used by one thread; the cache is thread-local.
#include <cstddef>
#include <cstdint>

namespace ringlb::io {

class PrivateBuffer {
 public:
  static constexpr std::size_t kCacheMax = 8;

  PrivateBuffer() = default;
  ~PrivateBuffer() { release(); }
  PrivateBuffer(PrivateBuffer&& other) noexcept : data_(other.data_), size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
  }
  PrivateBuffer& operator=(PrivateBuffer&& other) noexcept;
  PrivateBuffer(const PrivateBuffer&) = delete;
  PrivateBuffer& operator=(const PrivateBuffer&) = delete;

  // Maps `size` bytes (reusing a cached mapping of that size when there is one). Returns false,
  // leaving the object empty, if the system has no memory for it.
  bool allocate(std::size_t size);
  // Gives the memory back (to the thread's cache, or to the system when the cache is full).
  void release();

  explicit operator bool() const { return data_ != nullptr; }
  uint8_t* get() const { return data_; }
  std::size_t size() const { return size_; }

  // Mappings currently held in this thread's cache (for tests).
  static std::size_t cachedOnThisThread();

 private:
  uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ringlb::io
