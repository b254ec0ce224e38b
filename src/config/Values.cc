#include "Values.h"

#include <array>
#include <charconv>
#include <span>

#include "Duration.h"

namespace ringlb::config::detail {
namespace {

// The scalar text of the field, or nullptr after reporting "expected <what>, got <actual>".
const std::string* scalarOf(const Field& field, std::string_view what, Diagnostics& diags) {
  if (field.node.IsScalar()) return &field.node.Scalar();
  diags.error(field.path, "expected " + std::string(what) + ", got " + describe(field.node),
              field.line);
  return nullptr;
}

std::optional<uint64_t> parseDigits(std::string_view text, int base) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  // from_chars accepts no sign for unsigned types, so "-1" and "+1" fail here too.
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string rangeText(uint64_t min, uint64_t max) {
  if (max == kUnbounded) return "an integer >= " + std::to_string(min);
  return "an integer from " + std::to_string(min) + " to " + std::to_string(max);
}

// "a, b or c" from the names of `values`, for "expected ..., got ..." messages.
template <class E>
std::string choiceList(std::span<const E> values, std::string_view (*name)(E)) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += (i + 1 == values.size()) ? " or " : ", ";
    out += name(values[i]);
  }
  return out;
}

// One of `values`, by its YAML spelling as given by `name` (the owning module's table).
template <class E>
std::optional<E> readChoice(const Field& field, std::span<const E> values,
                            std::string_view (*name)(E), Diagnostics& diags) {
  const std::string expected = choiceList(values, name);
  const std::string* text = scalarOf(field, expected, diags);
  if (text == nullptr) return std::nullopt;
  for (const E value : values) {
    if (name(value) == *text) return value;
  }
  diags.error(field.path, "expected " + expected + ", got " + quoted(*text), field.line);
  return std::nullopt;
}

std::string_view relayModeName(RelayMode mode) {
  switch (mode) {
    case RelayMode::Auto:
      return "auto";
    case RelayMode::Splice:
      return "splice";
    case RelayMode::Copy:
      return "copy";
  }
  return "?";
}

// Every value of each enum, in the order the documentation lists them.
constexpr std::array kRelayModes{RelayMode::Auto, RelayMode::Splice, RelayMode::Copy};
constexpr std::array kAlgorithms{lb::Algorithm::Rendezvous, lb::Algorithm::RoundRobin,
                                 lb::Algorithm::LeastConn, lb::Algorithm::Random,
                                 lb::Algorithm::First};
constexpr std::array kHashKeys{lb::HashKey::SourceIp, lb::HashKey::SourceIpPort};

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

}  // namespace

std::optional<uint64_t> readUnsigned(const Field& field, uint64_t min, uint64_t max,
                                     Diagnostics& diags) {
  const std::string expected = rangeText(min, max);
  const std::string* text = scalarOf(field, expected, diags);
  if (text == nullptr) return std::nullopt;
  const auto value = parseDigits(*text, 10);
  if (!value || *value < min || *value > max) {
    diags.error(field.path, "expected " + expected + ", got " + quoted(*text), field.line);
    return std::nullopt;
  }
  return value;
}

std::optional<unsigned> readWorkers(const Field& field, Diagnostics& diags) {
  constexpr unsigned kMaxWorkers = 1024;
  const std::string expected = "\"auto\" or " + rangeText(1, kMaxWorkers);
  const std::string* text = scalarOf(field, expected, diags);
  if (text == nullptr) return std::nullopt;
  if (*text == "auto") return 0u;
  const auto value = parseDigits(*text, 10);
  if (!value || *value < 1 || *value > kMaxWorkers) {
    diags.error(field.path, "expected " + expected + ", got " + quoted(*text), field.line);
    return std::nullopt;
  }
  return static_cast<unsigned>(*value);
}

std::optional<uint64_t> readHashSeed(const Field& field, Diagnostics& diags) {
  const std::string_view expected = "an unsigned 64-bit integer (decimal or 0x hex)";
  const std::string* text = scalarOf(field, expected, diags);
  if (text == nullptr) return std::nullopt;
  const std::string_view view = *text;
  const bool hex = view.size() > 2 && view[0] == '0' && (view[1] == 'x' || view[1] == 'X');
  const auto value = hex ? parseDigits(view.substr(2), 16) : parseDigits(view, 10);
  if (!value) {
    diags.error(field.path, "expected " + std::string(expected) + ", got " + quoted(view),
                field.line);
  }
  return value;
}

std::optional<Duration> readDuration(const Field& field, ZeroDuration zero, Diagnostics& diags) {
  const std::string_view expected = "a duration such as 250ms, 5s, 2m, 1h or 1d";
  const std::string* text = scalarOf(field, expected, diags);
  if (text == nullptr) return std::nullopt;
  const DurationParse parsed = parseDurationChecked(*text);
  switch (parsed.problem) {
    case DurationProblem::None:
      break;
    case DurationProblem::Malformed:
      diags.error(field.path, "expected " + std::string(expected) + ", got " + quoted(*text),
                  field.line);
      return std::nullopt;
    case DurationProblem::TooLong:
      diags.error(field.path,
                  "duration " + quoted(*text) + " is too long (at most " +
                      std::to_string(kMaxDuration.count()) + "ms, about 24.8 days)",
                  field.line);
      return std::nullopt;
  }
  if (zero == ZeroDuration::Rejected && parsed.value->count() == 0) {
    diags.error(field.path, "must be greater than 0", field.line);
    return std::nullopt;
  }
  return parsed.value;
}

std::optional<std::string> readName(const Field& field, Diagnostics& diags) {
  const std::string* text = scalarOf(field, "a name", diags);
  if (text == nullptr) return std::nullopt;
  if (text->empty()) {
    diags.error(field.path, "must not be empty", field.line);
  } else {
    for (const char c : *text) {
      if (!isNameChar(c)) {
        diags.error(field.path,
                    "invalid name " + quoted(*text) +
                        ": use only letters, digits, '_', '.' and '-'",
                    field.line);
        break;
      }
    }
  }
  return *text;
}

std::optional<std::string> readText(const Field& field, std::string_view expected,
                                    Diagnostics& diags) {
  const std::string* text = scalarOf(field, expected, diags);
  if (text == nullptr) return std::nullopt;
  return *text;
}

std::optional<net::Address> readAddress(const Field& field, AddressUse use, Diagnostics& diags) {
  const std::string* text = scalarOf(field, "an address such as \"10.0.0.1:80\"", diags);
  if (text == nullptr) return std::nullopt;
  std::string reason;
  auto address = net::Address::parse(*text, &reason);
  if (!address) {
    // The parser's reason repeats the part of the value it rejects, verbatim, so it is shown by
    // the same rules as the value; the limit leaves room for that part and the explanation.
    constexpr std::size_t kReasonBytes = 2 * kShownBytes + 64;
    diags.error(field.path,
                "invalid address " + quoted(*text) + ": " + printable(reason, kReasonBytes),
                field.line);
    return std::nullopt;
  }
  if (use == AddressUse::Server && address->port() == 0) {
    diags.error(field.path,
                "invalid address " + quoted(*text) + ": a server needs a port from 1 to 65535",
                field.line);
    return std::nullopt;
  }
  return address;
}

std::optional<RelayMode> readRelayMode(const Field& field, Diagnostics& diags) {
  return readChoice<RelayMode>(field, kRelayModes, &relayModeName, diags);
}

std::optional<lb::Algorithm> readAlgorithm(const Field& field, Diagnostics& diags) {
  return readChoice<lb::Algorithm>(field, kAlgorithms, &lb::algorithmName, diags);
}

std::optional<lb::HashKey> readHashKey(const Field& field, Diagnostics& diags) {
  return readChoice<lb::HashKey>(field, kHashKeys, &lb::hashKeyName, diags);
}

}  // namespace ringlb::config::detail
