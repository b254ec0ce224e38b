#include "Diagnostics.h"

namespace ringlb::config {

std::string ConfigError::toString() const {
  std::string out;
  if (!path.empty()) out = path + ": ";
  out += message;
  if (line > 0) out += " (line " + std::to_string(line) + ")";
  return out;
}

namespace detail {

void Diagnostics::error(std::string path, std::string message, int line) {
  errors_.push_back(ConfigError{std::move(path), std::move(message), line});
}

int lineOf(const YAML::Node& node) {
  // A null mark (line -1) means "position unknown"; report 0 rather than a misleading line.
  const int line = node.Mark().line;
  return line >= 0 ? line + 1 : 0;
}

std::string keyPath(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (!out.empty()) out += '.';
  out += key;
  return out;
}

std::string indexPath(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  out += text;
  out += '"';
  return out;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quoted(node.Scalar());
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

}  // namespace detail
}  // namespace ringlb::config
