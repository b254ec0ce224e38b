#include "ringlb/io/PrivateBuffer.h"

#include <sys/mman.h>

#include <utility>
#include <vector>

namespace ringlb::io {
namespace {

// Released mappings kept for reuse on this thread; unmapped when the thread ends.
struct Cache {
  std::vector<std::pair<uint8_t*, std::size_t>> spare;
  ~Cache() {
    for (const auto& [data, size] : spare) ::munmap(data, size);
  }
};
thread_local Cache cache;

}  // namespace

PrivateBuffer& PrivateBuffer::operator=(PrivateBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

bool PrivateBuffer::allocate(std::size_t size) {
  release();
  for (std::size_t i = 0; i < cache.spare.size(); ++i) {
    if (cache.spare[i].second == size) {
      data_ = cache.spare[i].first;
      size_ = size;
      cache.spare[i] = cache.spare.back();
      cache.spare.pop_back();
      return true;
    }
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  data_ = static_cast<uint8_t*>(p);
  size_ = size;
  return true;
}

void PrivateBuffer::release() {
  if (data_ == nullptr) return;
  if (cache.spare.size() < kCacheMax) {
    // Keep the mapping but drop its pages: a cached buffer costs address space, not memory.
    ::madvise(data_, size_, MADV_DONTNEED);
    cache.spare.emplace_back(data_, size_);
  } else {
    ::munmap(data_, size_);
  }
  data_ = nullptr;
  size_ = 0;
}

std::size_t PrivateBuffer::cachedOnThisThread() { return cache.spare.size(); }

}  // namespace ringlb::io
