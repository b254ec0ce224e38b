// The loader's one look at the machine, kept apart so that the loader itself stays a function of
// its input (tests pass a Machine of their own).
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "ringlb/config/Loader.h"

namespace ringlb::config {

Machine thisMachine() {
  Machine machine;
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long pageSize = sysconf(_SC_PAGESIZE);
  if (pages > 0 && pageSize > 0) {
    machine.memoryBytes = static_cast<uint64_t>(pages) * static_cast<uint64_t>(pageSize);
  }
  // The same count app::Server starts for "workers: auto": the CPUs we may run on (taskset,
  // cgroup cpusets), not every CPU of the machine.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    machine.cpus = static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
  } else {
    machine.cpus = std::max(1u, std::thread::hardware_concurrency());
  }
  return machine;
}

}  // namespace ringlb::config
