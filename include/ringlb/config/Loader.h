#pragma once
// YAML -> Config with strict validation. Every error is collected (never just the first), each
// with its path in the document and its line, e.g.
//   backends[0].servers[1].wieght: unknown key (line 14)
// No yaml-cpp exception escapes: a syntax error becomes one ConfigError with its line.
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
  bool ok() const { return errors.empty(); }
};

LoadResult loadFile(const std::string& path);
LoadResult loadString(std::string_view yaml, const std::string& sourceName = "<string>");

// "250ms", "5s", "2m", "1h", "1d" (also "1500" meaning ms, as HAProxy does). nullopt if malformed
// or longer than 2^31-1 ms (~24.8 days, HAProxy's limit too), so adding one to a clock never
// overflows. No sign, spaces, fractions or compound forms ("1m30s").
std::optional<Duration> parseDuration(std::string_view text);

}  // namespace ringlb::config
