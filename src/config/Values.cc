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

std::string_view checkTypeName(CheckType type) {
  switch (type) {
    case CheckType::None:
      return "none";
    case CheckType::Tcp:
      return "tcp";
    case CheckType::Http:
      return "http";
  }
  return "?";
}

std::string_view adminStateName(AdminState state) {
  switch (state) {
    case AdminState::Active:
      return "active";
    case AdminState::Draining:
      return "draining";
    case AdminState::Maintenance:
      return "maintenance";
  }
  return "?";
}

std::string_view onMarkedDownName(OnMarkedDown action) {
  switch (action) {
    case OnMarkedDown::Keep:
      return "keep";
    case OnMarkedDown::Shutdown:
      return "shutdown";
  }
  return "?";
}

std::string_view boolName(bool value) { return value ? "true" : "false"; }
std::string_view upDownName(bool up) { return up ? "up" : "down"; }

std::string_view metricsCompatName(MetricsCompat compat) {
  switch (compat) {
    case MetricsCompat::None:
      return "none";
    case MetricsCompat::HAProxy:
      return "haproxy";
  }
  return "?";
}

std::string_view accessLogFormatName(AccessLogFormat format) {
  switch (format) {
    case AccessLogFormat::Text:
      return "text";
    case AccessLogFormat::Json:
      return "json";
  }
  return "?";
}

constexpr std::array kMetricsCompats{MetricsCompat::None, MetricsCompat::HAProxy};
constexpr std::array kAccessLogFormats{AccessLogFormat::Text, AccessLogFormat::Json};

constexpr std::array kCheckTypes{CheckType::Tcp, CheckType::Http, CheckType::None};
constexpr std::array kAdminStates{AdminState::Active, AdminState::Draining,
                                  AdminState::Maintenance};
constexpr std::array kOnMarkedDown{OnMarkedDown::Keep, OnMarkedDown::Shutdown};
constexpr std::array kBools{true, false};
constexpr std::array kUpDown{true, false};

constexpr std::size_t kMaxHttpPathBytes = 1024;
constexpr std::size_t kMaxHttpHostBytes = 1024;
constexpr std::size_t kMaxMethodBytes = 16;
constexpr uint64_t kMinStatus = 100;
constexpr uint64_t kMaxStatus = 599;
// sockaddr_un::sun_path is 108 bytes on Linux, and the path needs its terminating NUL there.
constexpr std::size_t kMaxSocketPathBytes = 107;
// PATH_MAX (4096) counts the terminating NUL: open() refuses anything longer with ENAMETOOLONG.
constexpr std::size_t kMaxFilePathBytes = 4095;

// What may go into a request line or header as it is: printable ASCII other than space.
bool isVisibleAscii(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte > 0x20 && byte < 0x7f;
}

bool allVisibleAscii(std::string_view text) {
  for (const char c : text) {
    if (!isVisibleAscii(c)) return false;
  }
  return true;
}

std::string_view trimSpaces(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

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

std::optional<bool> readBool(const Field& field, Diagnostics& diags) {
  return readChoice<bool>(field, kBools, &boolName, diags);
}

std::optional<CheckType> readCheckType(const Field& field, Diagnostics& diags) {
  return readChoice<CheckType>(field, kCheckTypes, &checkTypeName, diags);
}

std::optional<AdminState> readAdminState(const Field& field, Diagnostics& diags) {
  return readChoice<AdminState>(field, kAdminStates, &adminStateName, diags);
}

std::optional<OnMarkedDown> readOnMarkedDown(const Field& field, Diagnostics& diags) {
  return readChoice<OnMarkedDown>(field, kOnMarkedDown, &onMarkedDownName, diags);
}

std::optional<bool> readInitialUp(const Field& field, Diagnostics& diags) {
  return readChoice<bool>(field, kUpDown, &upDownName, diags);
}

std::optional<std::vector<StatusRange>> readStatusRanges(const Field& field, Diagnostics& diags) {
  const std::string_view expected =
      "status codes such as \"200\", \"200-399\" or \"200,204,300-302\"";
  const std::string* text = scalarOf(field, expected, diags);
  if (text == nullptr) return std::nullopt;
  const std::string_view all = *text;
  // The whole value is named too when the culprit is one item of several.
  const auto within = [&](std::string_view item) {
    return item.size() == all.size() ? std::string() : " in " + quoted(all);
  };
  std::vector<StatusRange> ranges;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = all.find(',', start);
    const std::string_view item =
        trimSpaces(all.substr(start, comma == std::string_view::npos ? all.npos : comma - start));
    const std::size_t dash = item.find('-');
    const auto low = parseDigits(trimSpaces(item.substr(0, dash)), 10);
    const auto high =
        dash == std::string_view::npos ? low : parseDigits(trimSpaces(item.substr(dash + 1)), 10);
    if (!low || !high) {
      diags.error(field.path, "expected " + std::string(expected) + ", got " + quoted(all),
                  field.line);
      return std::nullopt;
    }
    for (const uint64_t code : {*low, *high}) {
      if (code < kMinStatus || code > kMaxStatus) {
        diags.error(field.path,
                    "status " + std::to_string(code) + within(item) +
                        " is not a status code: expected 100 to 599",
                    field.line);
        return std::nullopt;
      }
    }
    if (*low > *high) {
      diags.error(field.path,
                  "range " + quoted(item) + within(item) +
                      " is reversed: its first code must not exceed its second",
                  field.line);
      return std::nullopt;
    }
    ranges.push_back(StatusRange{static_cast<uint16_t>(*low), static_cast<uint16_t>(*high)});
    if (comma == std::string_view::npos) return ranges;
    start = comma + 1;
  }
}

std::optional<std::string> readHttpMethod(const Field& field, Diagnostics& diags) {
  const std::string_view expected =
      "an HTTP method of 1 to 16 capital letters A-Z, such as GET, HEAD or OPTIONS";
  const std::string* text = scalarOf(field, expected, diags);
  if (text == nullptr) return std::nullopt;
  bool valid = !text->empty() && text->size() <= kMaxMethodBytes;
  for (const char c : *text) valid = valid && c >= 'A' && c <= 'Z';
  if (!valid) {
    diags.error(field.path, "expected " + std::string(expected) + ", got " + quoted(*text),
                field.line);
    return std::nullopt;
  }
  return *text;
}

std::optional<std::string> readHttpPath(const Field& field, Diagnostics& diags) {
  const std::string* text = scalarOf(field, "a path such as /healthz", diags);
  if (text == nullptr) return std::nullopt;
  if (text->empty() || text->front() != '/') {
    diags.error(field.path, "must start with '/', got " + quoted(*text), field.line);
    return std::nullopt;
  }
  if (text->size() > kMaxHttpPathBytes) {
    diags.error(field.path,
                quoted(*text) + " is longer than " + std::to_string(kMaxHttpPathBytes) + " bytes",
                field.line);
    return std::nullopt;
  }
  if (!allVisibleAscii(*text)) {
    // The request line is space-delimited and ASCII: such bytes would break or smuggle into it.
    diags.error(field.path,
                "invalid path " + quoted(*text) +
                    ": spaces, control characters and non-ASCII bytes must be percent-encoded",
                field.line);
    return std::nullopt;
  }
  return *text;
}

std::optional<std::string> readHttpHost(const Field& field, Diagnostics& diags) {
  const std::string* text = scalarOf(field, "a host name such as example.internal", diags);
  if (text == nullptr) return std::nullopt;
  if (text->size() > kMaxHttpHostBytes) {
    diags.error(field.path,
                quoted(*text) + " is longer than " + std::to_string(kMaxHttpHostBytes) + " bytes",
                field.line);
    return std::nullopt;
  }
  if (!allVisibleAscii(*text)) {
    // A CR or LF would end the header and let the value write headers of its own.
    diags.error(field.path,
                "invalid host " + quoted(*text) +
                    ": spaces, control characters and non-ASCII bytes are not allowed",
                field.line);
    return std::nullopt;
  }
  return *text;
}

namespace {
// What every configured path shares past "is it absolute": at most `maxBytes` (`bound` says
// whose limit) and no NUL byte (the kernel would take the path only up to it: a different file
// than the one written). Reports and returns false on the first violation.
bool checkPathBounds(const Field& field, const std::string& text, std::size_t maxBytes,
                     std::string_view what, std::string_view bound, Diagnostics& diags) {
  if (text.size() > maxBytes) {
    diags.error(field.path,
                quoted(text) + " is longer than " + std::string(what) + " may be (" +
                    std::to_string(maxBytes) + " bytes, " + std::string(bound) + ")",
                field.line);
    return false;
  }
  if (text.find('\0') != std::string::npos) {
    diags.error(field.path, "invalid path " + quoted(text) + ": contains a NUL byte", field.line);
    return false;
  }
  return true;
}
}  // namespace

std::optional<std::string> readSocketPath(const Field& field, Diagnostics& diags) {
  const std::string* text = scalarOf(field, "an absolute path such as /run/ringlb/admin.sock",
                                     diags);
  if (text == nullptr) return std::nullopt;
  if (text->empty() || text->front() != '/') {
    diags.error(field.path,
                "expected an absolute path such as /run/ringlb/admin.sock, got " + quoted(*text) +
                    " (leave admin.socket out for no admin socket)",
                field.line);
    return std::nullopt;
  }
  if (!checkPathBounds(field, *text, kMaxSocketPathBytes, "a Unix socket path", "sun_path", diags)) {
    return std::nullopt;
  }
  return *text;
}

std::optional<uint32_t> readFileMode(const Field& field, Diagnostics& diags) {
  const std::string_view expected = "an octal mode such as \"0600\" or \"660\", at most 0777";
  const std::string* text = scalarOf(field, expected, diags);
  if (text == nullptr) return std::nullopt;
  // At most 4 digits: "0600" is the longest spelling of a value <= 0777 people write.
  const auto value = text->size() <= 4 ? parseDigits(*text, 8) : std::nullopt;
  if (!value || *value > 0777) {
    diags.error(field.path, "expected " + std::string(expected) + ", got " + quoted(*text),
                field.line);
    return std::nullopt;
  }
  return static_cast<uint32_t>(*value);
}

std::optional<MetricsCompat> readMetricsCompat(const Field& field, Diagnostics& diags) {
  return readChoice<MetricsCompat>(field, kMetricsCompats, &metricsCompatName, diags);
}

std::optional<AccessLogFormat> readAccessLogFormat(const Field& field, Diagnostics& diags) {
  return readChoice<AccessLogFormat>(field, kAccessLogFormats, &accessLogFormatName, diags);
}

std::optional<std::string> readAccessLogPath(const Field& field, Diagnostics& diags) {
  const std::string_view expected = "an absolute path such as /var/log/ringlb/access.log, or stdout";
  const std::string* text = scalarOf(field, expected, diags);
  if (text == nullptr) return std::nullopt;
  if (text->empty()) {
    // Empty is how Config says "off"; written out it is more likely a variable that expanded
    // to nothing than a wish for no log.
    diags.error(field.path, "must not be empty (leave access_log.path out for no access log)",
                field.line);
    return std::nullopt;
  }
  if (*text == kAccessLogStdout) return *text;
  if (text->front() != '/') {
    // A relative path would depend on the working directory at start and at each reopen.
    diags.error(field.path, "expected " + std::string(expected) + ", got " + quoted(*text),
                field.line);
    return std::nullopt;
  }
  if (!checkPathBounds(field, *text, kMaxFilePathBytes, "a file path", "PATH_MAX", diags)) {
    return std::nullopt;
  }
  return *text;
}

}  // namespace ringlb::config::detail
