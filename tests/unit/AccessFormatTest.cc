// The access log's two line formats: exact lines for typical and edge records, escaping, and the
// time stamp at millisecond, second, day and year boundaries.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "ringlb/log/AccessFormat.h"

namespace ringlb::log {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

// 2026-12-02 00:00:00 UTC plus `offset`.
system_clock::time_point dec2(system_clock::duration offset) {
  return system_clock::time_point{std::chrono::sys_days{std::chrono::year{2026} / 12 / 2}} +
         offset;
}

// The record of the docs' example: a session that reached s1 at the first attempt.
AccessRecord typical() {
  AccessRecord r;
  r.start = dec2(4h + 40min + 123ms);
  r.duration = 530ms;
  r.connectTime = 1ms;
  r.clientAddress = "127.0.0.1:53412";
  r.frontend = "web";
  r.backend = "app";
  r.server = "s1";
  r.bytesIn = 123;
  r.bytesOut = 4567;
  r.reason = "completed";
  r.attempts = 1;
  r.worker = 3;
  return r;
}

std::string text(const AccessRecord& r) {
  fmt::memory_buffer out;
  formatText(r, out);
  return fmt::to_string(out);
}

std::string json(const AccessRecord& r) {
  fmt::memory_buffer out;
  formatJson(r, out);
  return fmt::to_string(out);
}

// The text of the formatted start time alone.
std::string timeOf(system_clock::time_point start) {
  AccessRecord r = typical();
  r.start = start;
  const std::string line = text(r);
  return line.substr(0, line.find(' '));
}

// ---- text ---------------------------------------------------------------------------------------

// The docs' example, field for field, ending in one '\n'.
TEST(AccessFormatTest, TextTypicalRecord) {
  EXPECT_EQ(text(typical()),
            "2026-12-02T04:40:00.123Z 127.0.0.1:53412 web app/s1 1/530 123 4567 completed 1\n");
}

// No server chosen and no connect: backend/- and -/duration.
TEST(AccessFormatTest, TextWithoutServerOrConnect) {
  AccessRecord r = typical();
  r.server = "";
  r.connectTime.reset();
  r.bytesIn = 17;
  r.bytesOut = 0;
  r.reason = "no_server";
  r.attempts = 0;
  EXPECT_EQ(text(r),
            "2026-12-02T04:40:00.123Z 127.0.0.1:53412 web app/- -/530 17 0 no_server 0\n");
}

// A server chosen whose connects all failed: the server is named, connect is '-'; an IPv6 client
// keeps its brackets; a connect time of 0 is a value, not an absent one.
TEST(AccessFormatTest, TextFailedConnectAndIpv6Client) {
  AccessRecord r = typical();
  r.clientAddress = "[2001:db8::1]:40000";
  r.connectTime.reset();
  r.reason = "connect_failed";
  r.attempts = 3;
  EXPECT_EQ(text(r), "2026-12-02T04:40:00.123Z [2001:db8::1]:40000 web app/s1 -/530 123 4567 "
                     "connect_failed 3\n");
  r.connectTime = 0ms;
  EXPECT_EQ(text(r), "2026-12-02T04:40:00.123Z [2001:db8::1]:40000 web app/s1 0/530 123 4567 "
                     "connect_failed 3\n");
}

// Counters at their limits print in full: attempts as a number (not a char), bytes as 64-bit.
TEST(AccessFormatTest, TextLargestValues) {
  AccessRecord r = typical();
  r.bytesIn = UINT64_MAX;
  r.bytesOut = UINT64_MAX - 1;
  r.attempts = 255;
  r.duration = 2147483647ms;
  r.connectTime = 2147483647ms;
  EXPECT_EQ(text(r), "2026-12-02T04:40:00.123Z 127.0.0.1:53412 web app/s1 2147483647/2147483647 "
                     "18446744073709551615 18446744073709551614 completed 255\n");
}

// Spaces, control bytes and DEL become '?'; an empty name becomes '-'; UTF-8 passes through.
TEST(AccessFormatTest, TextReplacesWhatWouldBreakAField) {
  AccessRecord r = typical();
  r.clientAddress = "\x1b[31m:1";
  r.frontend = "we b";
  r.backend = "caf\xc3\xa9\x7f";
  r.server = "s\t1\r\n";
  r.reason = "";
  EXPECT_EQ(text(r), "2026-12-02T04:40:00.123Z ?[31m:1 we?b caf\xc3\xa9?/s?1?? 1/530 123 4567 - "
                     "1\n");
}

// Whatever the strings hold, a text line is nine space-separated fields and one '\n' at its end.
TEST(AccessFormatTest, TextAlwaysHasNineFields) {
  const std::string nasty[] = {"", " ", "  a  b ", "\n", "a\nb", "\t\v\f\r", "\x7f", "x y\x01z"};
  for (const std::string& value : nasty) {
    AccessRecord r = typical();
    r.clientAddress = r.frontend = r.backend = r.server = r.reason = value;
    const std::string line = text(r);
    SCOPED_TRACE(line);
    ASSERT_EQ(line.find('\n'), line.size() - 1);
    std::vector<std::string> fields;
    std::istringstream split(line.substr(0, line.size() - 1));
    for (std::string field; std::getline(split, field, ' ');) fields.push_back(field);
    EXPECT_EQ(fields.size(), 9u);
    for (const std::string& field : fields) EXPECT_FALSE(field.empty());
  }
}

// ---- json ---------------------------------------------------------------------------------------

// Every key, in the documented order, on one line.
TEST(AccessFormatTest, JsonTypicalRecord) {
  EXPECT_EQ(json(typical()),
            R"({"time":"2026-12-02T04:40:00.123Z","client":"127.0.0.1:53412","frontend":"web",)"
            R"("backend":"app","server":"s1","connect_ms":1,"duration_ms":530,"bytes_in":123,)"
            R"("bytes_out":4567,"reason":"completed","attempts":1,"worker":3})"
            "\n");
}

// No server and no connect: null, not "" or 0.
TEST(AccessFormatTest, JsonWithoutServerOrConnect) {
  AccessRecord r = typical();
  r.server = "";
  r.connectTime.reset();
  r.reason = "no_server";
  r.attempts = 0;
  r.worker = 0;
  EXPECT_EQ(json(r),
            R"({"time":"2026-12-02T04:40:00.123Z","client":"127.0.0.1:53412","frontend":"web",)"
            R"("backend":"app","server":null,"connect_ms":null,"duration_ms":530,"bytes_in":123,)"
            R"("bytes_out":4567,"reason":"no_server","attempts":0,"worker":0})"
            "\n");
}

// Counters at their limits print in full.
TEST(AccessFormatTest, JsonLargestValues) {
  AccessRecord r = typical();
  r.bytesIn = UINT64_MAX;
  r.attempts = 255;
  r.worker = 4294967295u;
  const std::string line = json(r);
  EXPECT_NE(line.find(R"("bytes_in":18446744073709551615,)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("attempts":255,"worker":4294967295})"), std::string::npos) << line;
}

// Quote and backslash get a backslash; control bytes and DEL are \u00xx (never raw, never a
// shorter escape); '/', spaces and UTF-8 pass through; an empty string stays "".
TEST(AccessFormatTest, JsonEscapesStrings) {
  AccessRecord r = typical();
  r.clientAddress = "\x1b[31m";
  r.frontend = "a\"b\\c/d e";
  r.backend = std::string_view("\0\x01\x1f\x20\x7f", 5);
  r.server = "caf\xc3\xa9 \xe2\x9c\x93";
  r.reason = "";
  EXPECT_EQ(json(r),
            R"({"time":"2026-12-02T04:40:00.123Z","client":"\u001b[31m",)"
            R"("frontend":"a\"b\\c/d e","backend":"\u0000\u0001\u001f \u007f",)"
            "\"server\":\"caf\xc3\xa9 \xe2\x9c\x93\","
            R"("connect_ms":1,"duration_ms":530,"bytes_in":123,"bytes_out":4567,"reason":"",)"
            R"("attempts":1,"worker":3})"
            "\n");
}

// A line break inside a value is escaped, so a JSON record is always exactly one line.
TEST(AccessFormatTest, JsonIsOneLine) {
  AccessRecord r = typical();
  r.frontend = "a\nb\r\n";
  const std::string line = json(r);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_NE(line.find(R"("frontend":"a\u000ab\u000d\u000a")"), std::string::npos) << line;
}

// ---- both ---------------------------------------------------------------------------------------

// Each call appends one line after what the buffer holds; it never clears or rewrites it.
TEST(AccessFormatTest, FormattingAppends) {
  fmt::memory_buffer out;
  const std::string_view before = "earlier line\n";
  out.append(before.data(), before.data() + before.size());
  formatText(typical(), out);
  formatJson(typical(), out);
  EXPECT_EQ(fmt::to_string(out), std::string(before) + text(typical()) + json(typical()));
}

// Milliseconds are floored: a start 0.999999 ms into a second is .000, 999.999 ms is .999, and
// a nanosecond before midnight is still the old day; the next millisecond rolls every field.
TEST(AccessFormatTest, TimeAtMillisecondBoundaries) {
  EXPECT_EQ(timeOf(dec2(0ns)), "2026-12-02T00:00:00.000Z");
  EXPECT_EQ(timeOf(dec2(999999ns)), "2026-12-02T00:00:00.000Z");
  EXPECT_EQ(timeOf(dec2(1ms)), "2026-12-02T00:00:00.001Z");
  EXPECT_EQ(timeOf(dec2(999999999ns)), "2026-12-02T00:00:00.999Z");
  EXPECT_EQ(timeOf(dec2(1s)), "2026-12-02T00:00:01.000Z");
  EXPECT_EQ(timeOf(dec2(24h - 1ns)), "2026-12-02T23:59:59.999Z");
  EXPECT_EQ(timeOf(dec2(24h)), "2026-12-03T00:00:00.000Z");
  EXPECT_EQ(timeOf(dec2(29 * 24h + 23h + 59min + 59s + 999ms)), "2026-12-31T23:59:59.999Z");
  EXPECT_EQ(timeOf(dec2(30 * 24h)), "2027-01-01T00:00:00.000Z");
}

// Calendar edges: the epoch, a leap day, and a time before 1970 (floored, not truncated towards
// zero, which would print the following millisecond).
TEST(AccessFormatTest, TimeCalendarEdges) {
  using std::chrono::sys_days;
  using std::chrono::year;
  EXPECT_EQ(timeOf(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(timeOf(sys_days{year{2028} / 2 / 29} + 12h + 30min + 5s + 7ms),
            "2028-02-29T12:30:05.007Z");
  EXPECT_EQ(timeOf(sys_days{year{2028} / 2 / 28} + 24h), "2028-02-29T00:00:00.000Z");
  EXPECT_EQ(timeOf(system_clock::time_point{} - 1ns), "1969-12-31T23:59:59.999Z");
}

// The same time stamp in JSON.
TEST(AccessFormatTest, JsonTimeIsTheSame) {
  AccessRecord r = typical();
  r.start = dec2(24h - 1ns);
  EXPECT_EQ(json(r).substr(0, 34), R"({"time":"2026-12-02T23:59:59.999Z")");
}

}  // namespace
}  // namespace ringlb::log
