#include "ringlb/health/HttpCheck.h"

#include <algorithm>

namespace ringlb::health {
namespace {

// RFC 9110 5.6.2: tchar.
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Visible ASCII: no space, no control byte, nothing a header line could be split on.
bool isVisible(char c) { return c > 0x20 && c < 0x7f; }

bool allVisible(std::string_view s) { return std::all_of(s.begin(), s.end(), isVisible); }

bool isDigit(char c) { return c >= '0' && c <= '9'; }

constexpr std::string_view kVersionPrefix = "HTTP/1.";

}  // namespace

std::string requestError(std::string_view method, std::string_view path, std::string_view host) {
  if (method.empty() || !std::all_of(method.begin(), method.end(), isTokenChar)) {
    return "check method must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~)";
  }
  if (path.empty() || path.front() != '/') return "check path must start with '/'";
  if (!allVisible(path)) return "check path must not contain spaces or control characters";
  if (!allVisible(host)) return "check host must not contain spaces or control characters";
  return {};
}

std::string buildRequest(std::string_view method, std::string_view path, std::string_view host,
                         std::string_view serverAddress) {
  const std::string_view effectiveHost = host.empty() ? serverAddress : host;
  if (!requestError(method, path, effectiveHost).empty()) return {};
  std::string out;
  out.reserve(method.size() + path.size() + effectiveHost.size() + 80);
  out.append(method).append(" ").append(path).append(" HTTP/1.1\r\n");
  out.append("Host: ").append(effectiveHost).append("\r\n");
  out.append("Connection: close\r\nUser-Agent: ringlb-check\r\n\r\n");
  return out;
}

StatusResult StatusLineParser::feed(std::span<const char> bytes) {
  for (char c : bytes) {
    if (result_.kind != StatusResult::Kind::NeedMore) break;
    if (seen_ == maxLength_) {
      result_ = StatusResult::malformed("status line too long");
      break;
    }
    ++seen_;
    result_ = step(c);
  }
  return result_;
}

StatusResult StatusLineParser::finish() {
  if (result_.kind == StatusResult::Kind::NeedMore) result_ = StatusResult::malformed("truncated");
  return result_;
}

StatusResult StatusLineParser::step(char c) {
  switch (step_) {
    case Step::Version:
      if (digits_ < kVersionPrefix.size()) {
        if (c == kVersionPrefix[digits_]) {
          ++digits_;
          return StatusResult::needMore();
        }
        // Past "HTTP/" it is HTTP, just not a version that frames responses this way.
        return StatusResult::malformed(digits_ < 5 ? "not an HTTP response"
                                                   : "unsupported HTTP version");
      }
      if (!isDigit(c)) return StatusResult::malformed("unsupported HTTP version");
      step_ = Step::Space;
      return StatusResult::needMore();
    case Step::Space:
      if (c != ' ') return StatusResult::malformed("expected one space after the HTTP version");
      step_ = Step::Code;
      digits_ = 0;
      return StatusResult::needMore();
    case Step::Code:
      if (!isDigit(c)) {
        return StatusResult::malformed(c == ' ' && digits_ == 0
                                           ? "more than one space after the HTTP version"
                                           : "status code is not 3 digits");
      }
      code_ = static_cast<uint16_t>(code_ * 10 + (c - '0'));
      if (++digits_ < 3) return StatusResult::needMore();
      if (code_ < 100 || code_ > 599) return StatusResult::malformed("status code out of range");
      step_ = Step::AfterCode;
      return StatusResult::needMore();
    case Step::AfterCode:
      if (c == ' ') {
        step_ = Step::Reason;
        return StatusResult::needMore();
      }
      if (c == '\r') {
        step_ = Step::Lf;
        return StatusResult::needMore();
      }
      if (c == '\n') return StatusResult::status(code_);
      return StatusResult::malformed(isDigit(c) ? "status code is not 3 digits"
                                                : "expected a space after the status code");
    case Step::Reason:
      // reason-phrase = *( HTAB / SP / VCHAR / obs-text )
      if (c == '\r') {
        step_ = Step::Lf;
        return StatusResult::needMore();
      }
      if (c == '\n') return StatusResult::status(code_);
      if (c == '\t' || c == ' ' || isVisible(c) || static_cast<unsigned char>(c) >= 0x80) {
        return StatusResult::needMore();
      }
      return StatusResult::malformed("control character in reason phrase");
    case Step::Lf:
      if (c == '\n') return StatusResult::status(code_);
      return StatusResult::malformed("CR not followed by LF");
  }
  return StatusResult::malformed("internal parser error");
}

bool matches(uint16_t code, std::span<const StatusRange> ranges) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [code](const StatusRange& r) { return code >= r.low && code <= r.high; });
}

std::optional<FailureReason> verdictOf(const StatusResult& result,
                                       std::span<const StatusRange> ranges) {
  if (result.kind != StatusResult::Kind::Status) return FailureReason::BadResponse;
  if (!matches(result.code, ranges)) return FailureReason::BadStatus;
  return std::nullopt;
}

}  // namespace ringlb::health
