#pragma once
// Private to config/: the error collector every reader writes into, and the small vocabulary
// (paths, lines, node descriptions) shared by the readers. Readers never throw and never stop at
// the first problem; they report it here and carry on, so one load shows every error.
#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

#include "ringlb/config/Loader.h"

namespace ringlb::config::detail {

class Diagnostics {
 public:
  void error(std::string path, std::string message, int line);
  bool empty() const { return errors_.empty(); }
  std::vector<ConfigError> take() { return std::move(errors_); }

 private:
  std::vector<ConfigError> errors_;
};

// 1-based line of a node, 0 when yaml-cpp has no mark for it.
int lineOf(const YAML::Node& node);

// "backends[0]" + "servers" -> "backends[0].servers"; "" + "global" -> "global".
std::string keyPath(std::string_view parent, std::string_view key);
// "backends" + 1 -> "backends[1]".
std::string indexPath(std::string_view parent, std::size_t index);

// "a map", "a list", "nothing", "\"text\"": used in "expected X, got Y" messages.
std::string describe(const YAML::Node& node);

// `text` in double quotes, for messages.
std::string quoted(std::string_view text);

}  // namespace ringlb::config::detail
