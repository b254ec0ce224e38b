#pragma once
// YAML -> Config with strict validation. Every error is collected (never just the first), each
// with its path in the document and its line, e.g.
//   backends[0].servers[1].wieght: unknown key (line 14)
// No yaml-cpp exception escapes: a syntax error becomes one ConfigError with its line.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringlb/config/Config.h"

namespace ringlb::config {

struct ConfigError {
  std::string path;     // "backends[0].servers[1].wieght"; empty for document-level errors
  std::string message;  // "unknown key"
  int line = 0;         // 1-based; 0 when unknown
  // "path: message (line N)"
  std::string toString() const;
};

struct LoadResult {
  std::optional<Config> config;     // set iff errors is empty
  std::vector<ConfigError> errors;
  // With a config only: settings that are valid but do nothing as written (an option that needs
  // another one the document does not set). Shown at start, by `-c` and by a reload; never fatal.
  std::vector<ConfigError> warnings;
  bool ok() const { return errors.empty(); }
};

// What the machine offers, for the one check that depends on it: the receive buffers of every
// worker must fit in physical memory (see docs/configuration.md, `buffers`). A parameter rather
// than a look-up inside the loader, so that whether a document is valid in a test does not
// depend on the machine the test runs on.
struct Machine {
  uint64_t memoryBytes = 0;  // physical memory; 0 = unknown, and the memory check is skipped
  unsigned cpus = 1;         // CPUs this process may run on: the workers `workers: auto` starts
};

// This machine: sysconf(_SC_PHYS_PAGES) x sysconf(_SC_PAGESIZE), and the CPUs in this process's
// affinity mask (sched_getaffinity, as app::Server counts them for `workers: auto`).
Machine thisMachine();

LoadResult loadFile(const std::string& path, const Machine& machine = thisMachine());
LoadResult loadString(std::string_view yaml, const std::string& sourceName = "<string>",
                      const Machine& machine = thisMachine());

// "250ms", "5s", "2m", "1h", "1d" (also "1500" meaning ms, as HAProxy does). nullopt if malformed
// or longer than 2^31-1 ms (~24.8 days, HAProxy's limit too), so adding one to a clock never
// overflows. No sign, spaces, fractions or compound forms ("1m30s").
std::optional<Duration> parseDuration(std::string_view text);

}  // namespace ringlb::config
