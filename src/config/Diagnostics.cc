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
  out += printable(key);
  return out;
}

std::string indexPath(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

namespace {

// Appends the escaped form of the first `maxBytes` bytes of `text`; returns whether it cut.
bool appendEscaped(std::string& out, std::string_view text, std::size_t maxBytes) {
  constexpr char kHex[] = "0123456789abcdef";
  const bool cut = text.size() > maxBytes;
  for (const char c : text.substr(0, maxBytes)) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      // Escaped too, so that "\x1b" in a message always means the byte and never the 4 characters.
      out += "\\\\";
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      // Non-ASCII bytes too: a UTF-8 sequence may be invalid or a C1 control (U+009B is CSI).
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return cut;
}

std::string lengthNote(std::size_t bytes) { return " (" + std::to_string(bytes) + " bytes)"; }

}  // namespace

std::string printable(std::string_view text, std::size_t maxBytes) {
  std::string out;
  if (appendEscaped(out, text, maxBytes)) out += "..." + lengthNote(text.size());
  return out;
}

std::string quoted(std::string_view text, std::size_t maxBytes) {
  std::string out = "\"";
  const bool cut = appendEscaped(out, text, maxBytes);
  out += cut ? "...\"" + lengthNote(text.size()) : "\"";
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
