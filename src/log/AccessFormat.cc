#include "ringlb/log/AccessFormat.h"

#include <chrono>
#include <string_view>

namespace ringlb::log {
namespace {

void append(fmt::memory_buffer& out, std::string_view text) {
  out.append(text.data(), text.data() + text.size());
}

// "2026-12-02T04:40:00.123Z". floor, not time_point_cast: a time before 1970 truncated towards
// zero would print the following second.
void appendTime(std::chrono::system_clock::time_point time, fmt::memory_buffer& out) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(time);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  const hh_mm_ss<milliseconds> clock{ms - day};
  fmt::format_to(fmt::appender(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                 static_cast<unsigned>(date.day()), clock.hours().count(),
                 clock.minutes().count(), clock.seconds().count(),
                 clock.subseconds().count());
}

template <class Integer>
void appendNumber(Integer value, fmt::memory_buffer& out) {
  fmt::format_to(fmt::appender(out), "{}", value);
}

// A byte that would split or forge a text field, or reach a terminal as a control: '?'.
bool breaksTextField(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte <= 0x20 || byte == 0x7f;
}

// One text field: never empty and never more than one field, whatever the value holds.
void appendTextField(std::string_view value, fmt::memory_buffer& out) {
  if (value.empty()) {
    out.push_back('-');
    return;
  }
  for (const char c : value) out.push_back(breaksTextField(c) ? '?' : c);
}

// RFC 8259 requires escaping '"', '\' and U+0000..U+001F; DEL is escaped too, so that no control
// byte reaches a terminal showing the log. Runs of plain bytes are copied at once.
void appendJsonString(std::string_view value, fmt::memory_buffer& out) {
  constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t plain = 0;  // start of the current run of bytes copied as they are
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto byte = static_cast<unsigned char>(value[i]);
    const bool quote = byte == '"' || byte == '\\';
    if (!quote && byte >= 0x20 && byte != 0x7f) continue;
    append(out, value.substr(plain, i - plain));
    if (quote) {
      const char escaped[] = {'\\', static_cast<char>(byte)};
      out.append(escaped, escaped + 2);
    } else {
      const char escaped[] = {'\\', 'u', '0', '0', kHex[byte >> 4], kHex[byte & 0xf]};
      out.append(escaped, escaped + 6);
    }
    plain = i + 1;
  }
  append(out, value.substr(plain));
  out.push_back('"');
}

}  // namespace

void formatText(const AccessRecord& record, fmt::memory_buffer& out) {
  appendTime(record.start, out);
  out.push_back(' ');
  appendTextField(record.clientAddress, out);
  out.push_back(' ');
  appendTextField(record.frontend, out);
  out.push_back(' ');
  appendTextField(record.backend, out);
  out.push_back('/');
  appendTextField(record.server, out);
  out.push_back(' ');
  if (record.connectTime) {
    appendNumber(record.connectTime->count(), out);
  } else {
    out.push_back('-');
  }
  out.push_back('/');
  appendNumber(record.duration.count(), out);
  out.push_back(' ');
  appendNumber(record.bytesIn, out);
  out.push_back(' ');
  appendNumber(record.bytesOut, out);
  out.push_back(' ');
  appendTextField(record.reason, out);
  out.push_back(' ');
  appendNumber(unsigned{record.attempts}, out);  // a number, not a char
  out.push_back('\n');
}

void formatJson(const AccessRecord& record, fmt::memory_buffer& out) {
  append(out, "{\"time\":\"");
  appendTime(record.start, out);
  append(out, "\",\"client\":");
  appendJsonString(record.clientAddress, out);
  append(out, ",\"frontend\":");
  appendJsonString(record.frontend, out);
  append(out, ",\"backend\":");
  appendJsonString(record.backend, out);
  append(out, ",\"server\":");
  if (record.server.empty()) {
    append(out, "null");
  } else {
    appendJsonString(record.server, out);
  }
  append(out, ",\"connect_ms\":");
  if (record.connectTime) {
    appendNumber(record.connectTime->count(), out);
  } else {
    append(out, "null");
  }
  append(out, ",\"duration_ms\":");
  appendNumber(record.duration.count(), out);
  append(out, ",\"bytes_in\":");
  appendNumber(record.bytesIn, out);
  append(out, ",\"bytes_out\":");
  appendNumber(record.bytesOut, out);
  append(out, ",\"reason\":");
  appendJsonString(record.reason, out);
  append(out, ",\"attempts\":");
  appendNumber(unsigned{record.attempts}, out);
  append(out, ",\"worker\":");
  appendNumber(record.worker, out);
  append(out, "}\n");
}

}  // namespace ringlb::log
