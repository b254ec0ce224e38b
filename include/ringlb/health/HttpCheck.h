#pragma once
// The byte-level half of an HTTP health check: the request to send, and an incremental parser
// of the answer's status line. No sockets: the check driver writes buildRequest()'s bytes, feeds
// whatever it reads to a StatusLineParser, and turns the verdict into a state-machine event with
// verdictOf().
//
// Only the status line is read ("HTTP/1.x SSS reason\r\n", RFC 9112 section 4): the request says
// "Connection: close", and headers and body are ignored, as HAProxy's `http-check expect status`
// ignores them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ringlb/health/CheckResult.h"

namespace ringlb::health {

// Empty when method/path/host can be put on the wire as given, else what is wrong. For the config
// validator, and checked again by buildRequest(). method: an RFC 9110 token; path: starts with
// '/', no whitespace or control bytes; host: no whitespace or control bytes (it may be empty).
std::string requestError(std::string_view method, std::string_view path, std::string_view host);

// "<method> <path> HTTP/1.1\r\nHost: <host>\r\nConnection: close\r\nUser-Agent: ringlb-check\r\n\r\n".
// An empty host uses `serverAddress` (the server's "ip:port", IPv6 in brackets: HTTP/1.1 requires
// a Host header, and a server without virtual hosts accepts its own address). Returns "" when
// requestError() is not empty: bytes that would let a config value inject headers are never sent.
std::string buildRequest(std::string_view method, std::string_view path, std::string_view host,
                         std::string_view serverAddress);

struct StatusResult {
  enum class Kind : uint8_t {
    NeedMore,   // the status line is not complete yet
    Status,     // complete and well formed: `code`
    Malformed,  // not a valid HTTP/1.x status line: `reason` says why (a static string)
  };
  Kind kind = Kind::NeedMore;
  uint16_t code = 0;           // Status: 100..599
  const char* reason = "";     // Malformed: "not an HTTP response", "truncated", ...

  static constexpr StatusResult needMore() { return {}; }
  static constexpr StatusResult status(uint16_t c) { return {Kind::Status, c, ""}; }
  static constexpr StatusResult malformed(const char* why) { return {Kind::Malformed, 0, why}; }
  bool operator==(const StatusResult& o) const {
    return kind == o.kind && code == o.code && std::string_view(reason) == o.reason;
  }
};

// Incremental parser of one response's status line. Feed bytes as they arrive, in pieces of any
// size (one byte at a time works); it keeps no copy of them. Once the result is final (Status or
// Malformed), further feeds return it unchanged, so bytes past the status line (headers, body)
// may be fed or not. Call finish() at end of stream. One parser per check; reset() to reuse.
//
// Grammar (RFC 9112 4, status-line = HTTP-version SP status-code SP [reason-phrase] CRLF):
//   - strict: "HTTP/1." then one digit (HTTP-name is case-sensitive, only major version 1 speaks
//     this framing), exactly one SP, exactly three digits in 100..599 (RFC 9110 15: nothing else
//     is a status code), then SP, CR or LF;
//   - lenient on the reason: the SP after the code may be missing ("HTTP/1.1 200\r\n", common from
//     small servers) and the phrase may be empty or contain SP/HTAB; other control bytes are
//     rejected;
//   - a bare LF ends the line (RFC 9112 2.2 allows it; a check reads nothing past the line, so
//     the framing ambiguity that makes bare LF dangerous in a proxy cannot arise). A CR must be
//     followed by LF.
//   - at most `maxLength` bytes including the line end: beyond, "status line too long" (a server
//     streaming garbage cannot make the check wait or buffer).
class StatusLineParser {
 public:
  static constexpr std::size_t kDefaultMaxLength = 512;
  explicit StatusLineParser(std::size_t maxLength = kDefaultMaxLength) : maxLength_(maxLength) {}

  StatusResult feed(std::span<const char> bytes);
  StatusResult feed(std::string_view bytes) { return feed(std::span(bytes.data(), bytes.size())); }
  // End of stream: the final result, or Malformed("truncated") if the line was not complete.
  StatusResult finish();
  StatusResult result() const { return result_; }
  void reset() { *this = StatusLineParser(maxLength_); }

 private:
  enum class Step : uint8_t { Version, Space, Code, AfterCode, Reason, Lf };
  StatusResult step(char c);

  std::size_t maxLength_;
  std::size_t seen_ = 0;  // bytes of the status line consumed so far
  uint16_t code_ = 0;
  uint8_t digits_ = 0;    // Version: bytes of "HTTP/1.x" matched; Code: digits read
  Step step_ = Step::Version;
  StatusResult result_;
};

// An inclusive range of acceptable status codes (the config's expected statuses map onto these).
struct StatusRange {
  uint16_t low = 200;
  uint16_t high = 399;
  bool operator==(const StatusRange&) const = default;
};
// HAProxy's default for `option httpchk`: 2xx and 3xx mean the server is fine.
inline constexpr StatusRange kDefaultStatusRange{200, 399};

// True iff `code` is in one of `ranges`. An empty list accepts nothing: the wiring passes
// kDefaultStatusRange when the configuration names none.
bool matches(uint16_t code, std::span<const StatusRange> ranges);

// A final parse result as the state machine needs it: nullopt for success, else the reason
// (BadStatus for an unexpected code, BadResponse for a malformed or truncated answer). A result
// still NeedMore is a driver bug, read as BadResponse.
std::optional<FailureReason> verdictOf(const StatusResult& result,
                                       std::span<const StatusRange> ranges);

}  // namespace ringlb::health
