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

// "backends[0]" + "servers" -> "backends[0].servers"; "" + "global" -> "global". The key is
// shown through printable(): an unknown key is user-written text too.
std::string keyPath(std::string_view parent, std::string_view key);
// "backends" + 1 -> "backends[1]".
std::string indexPath(std::string_view parent, std::size_t index);

// "a map", "a list", "nothing", "\"text\"": used in "expected X, got Y" messages.
std::string describe(const YAML::Node& node);

// How much of a value written by the user a message shows: enough to recognise it. A message is
// one line on a terminal or in a log, so a 20 MB scalar must not become a 20 MB line.
inline constexpr std::size_t kShownBytes = 64;

// `text` made safe to print on one line: printable ASCII as is, a backslash as "\\", newline,
// carriage return and tab as "\n", "\r", "\t", every other byte (control characters such as ESC,
// DEL, anything non-ASCII) as "\xHH". Only the first `maxBytes` bytes are shown; a longer text
// ends in "..." and its total length: `aaaa... (20971520 bytes)`. Every piece of user-written
// text that reaches a message goes through here (or through quoted(), which uses the same
// rules), so no message can carry terminal escapes or a whole huge value.
std::string printable(std::string_view text, std::size_t maxBytes = kShownBytes);

// `text` in double quotes, for messages, by printable()'s rules; a cut value keeps its length
// outside the quotes: `"aaaa..." (20971520 bytes)`.
std::string quoted(std::string_view text, std::size_t maxBytes = kShownBytes);

}  // namespace ringlb::config::detail
