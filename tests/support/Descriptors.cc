#include "support/Descriptors.h"

#include <dirent.h>

#include <string>

namespace ringlb::test {

bool setDescriptorLimit(pid_t pid, rlim_t n) {
  const rlimit lim{n, n};
  return ::prlimit(pid, RLIMIT_NOFILE, &lim, nullptr) == 0;
}

bool ensureOwnDescriptorLimit(rlim_t n) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return false;
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= n) return true;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < n) return false;
  lim.rlim_cur = n;
  return ::setrlimit(RLIMIT_NOFILE, &lim) == 0;
}

long openDescriptorCount(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return -1;
  long n = 0;
  while (const dirent* entry = ::readdir(dir)) n += entry->d_name[0] != '.' ? 1 : 0;
  ::closedir(dir);
  return n;
}

}  // namespace ringlb::test
