// The HTTP check's bytes (health/HttpCheck.h): the request, the incremental status-line parser
// (whole, byte by byte, truncated, oversized, malformed) and the expected-status ranges.
#include "ringlb/health/HttpCheck.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace ringlb::health;

namespace {

StatusResult parseWhole(std::string_view bytes, bool eof = true) {
  StatusLineParser p;
  const StatusResult r = p.feed(bytes);
  return eof ? p.finish() : r;
}

StatusResult parseByteByByte(std::string_view bytes) {
  StatusLineParser p;
  for (char c : bytes) {
    const StatusResult r = p.feed(std::string_view(&c, 1));
    if (r.kind != StatusResult::Kind::NeedMore) return r;
  }
  return p.finish();
}

StatusResult status(uint16_t code) { return StatusResult::status(code); }
StatusResult malformed(const char* why) { return StatusResult::malformed(why); }

}  // namespace

// The request is exactly what the wire needs: request line, Host, Connection: close, User-Agent.
TEST(HttpCheckTest, BuildsTheRequest) {
  EXPECT_EQ(buildRequest("GET", "/healthz", "api.example", "10.0.0.1:8080"),
            "GET /healthz HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n"
            "User-Agent: ringlb-check\r\n\r\n");
}

// Without a configured host the server's own address is the Host header.
TEST(HttpCheckTest, HostDefaultsToTheServerAddress) {
  EXPECT_EQ(buildRequest("HEAD", "/", "", "[::1]:80"),
            "HEAD / HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n"
            "User-Agent: ringlb-check\r\n\r\n");
}

// Values that could split the request or inject headers are refused, never sent.
TEST(HttpCheckTest, RefusesInjectableValues) {
  EXPECT_EQ(buildRequest("GET", "/a\r\nX: y", "h", "1.2.3.4:80"), "");
  EXPECT_EQ(buildRequest("GET", "/", "h\r\nX: y", "1.2.3.4:80"), "");
  EXPECT_EQ(buildRequest("GE T", "/", "h", "1.2.3.4:80"), "");
  EXPECT_EQ(buildRequest("GET", "healthz", "h", "1.2.3.4:80"), "");
  EXPECT_EQ(buildRequest("GET", "/a b", "h", "1.2.3.4:80"), "");
  EXPECT_EQ(buildRequest("", "/", "h", "1.2.3.4:80"), "");
  EXPECT_EQ(buildRequest("GET", "/", "", "bad addr"), "");
  EXPECT_NE(requestError("GET", "/", "h x"), "");
  EXPECT_EQ(requestError("GET", "/healthz?full=1", ""), "");
}

// Well-formed status lines give their code, with CRLF or a bare LF.
TEST(HttpCheckTest, ParsesGoodStatusLines) {
  EXPECT_EQ(parseWhole("HTTP/1.1 200 OK\r\n"), status(200));
  EXPECT_EQ(parseWhole("HTTP/1.0 503 Service Unavailable\r\n"), status(503));
  EXPECT_EQ(parseWhole("HTTP/1.1 204 No Content\n"), status(204));
  EXPECT_EQ(parseWhole("HTTP/1.1 301 \r\n"), status(301));          // empty reason
  EXPECT_EQ(parseWhole("HTTP/1.1 200\r\n"), status(200));           // missing reason and SP
  EXPECT_EQ(parseWhole("HTTP/1.1 200  two\tspaces\r\n"), status(200));
  EXPECT_EQ(parseWhole("HTTP/1.1 200 caf\xc3\xa9\r\n"), status(200));  // obs-text
  EXPECT_EQ(parseWhole("HTTP/1.1 100 Continue\r\n"), status(100));
  EXPECT_EQ(parseWhole("HTTP/1.1 599 x\r\n"), status(599));
}

// The verdict comes as soon as the line ends: headers and body after it do not matter.
TEST(HttpCheckTest, IgnoresWhatFollowsTheStatusLine) {
  EXPECT_EQ(parseWhole("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false), status(200));
  StatusLineParser p;
  EXPECT_EQ(p.feed(std::string_view("HTTP/1.1 500 Oops\r\n")), status(500));
  EXPECT_EQ(p.feed(std::string_view(std::string(10000, 'x'))), status(500));
  EXPECT_EQ(p.finish(), status(500));
}

// Fed one byte at a time, the parser reaches the same verdicts and says NeedMore until then.
TEST(HttpCheckTest, ByteByByteGivesTheSameVerdicts) {
  for (const char* input :
       {"HTTP/1.1 200 OK\r\n", "HTTP/1.0 404 Not Found\n", "HTTP/1.1 200\r\n", "HTTP/1.1 20x\r\n",
        "HTTP/2 200\r\n", "HTTP/1.1 600 x\r\n", "HTTP/1.1 200 OK\rX", "HTTP/1.1 200 O"}) {
    EXPECT_EQ(parseByteByByte(input), parseWhole(input)) << input;
  }
  StatusLineParser p;
  const std::string line = "HTTP/1.1 200 OK\r\n";
  for (std::size_t i = 0; i + 1 < line.size(); ++i) {
    EXPECT_EQ(p.feed(std::string_view(&line[i], 1)).kind, StatusResult::Kind::NeedMore) << i;
  }
  EXPECT_EQ(p.feed(std::string_view("\n")), status(200));
}

// End of stream before the line ends is a truncated answer, including no answer at all.
TEST(HttpCheckTest, TruncatedAtEof) {
  EXPECT_EQ(parseWhole(""), malformed("truncated"));
  EXPECT_EQ(parseWhole("HTTP/1.1 20"), malformed("truncated"));
  EXPECT_EQ(parseWhole("HTTP/1.1 200 OK"), malformed("truncated"));
  EXPECT_EQ(parseWhole("HTTP/1.1 200 OK\r"), malformed("truncated"));
  EXPECT_EQ(parseWhole("HTTP/1.1 200 OK", false).kind, StatusResult::Kind::NeedMore);
}

// A line longer than the limit is rejected at the limit, without waiting for its end.
TEST(HttpCheckTest, OversizedStatusLine) {
  const std::string head = "HTTP/1.1 200 ";
  const std::string exact = head + std::string(512 - head.size() - 2, 'a') + "\r\n";
  ASSERT_EQ(exact.size(), 512u);
  EXPECT_EQ(parseWhole(exact), status(200));
  const std::string over = head + std::string(512 - head.size() - 1, 'a') + "\r\n";
  EXPECT_EQ(parseWhole(over), malformed("status line too long"));
  EXPECT_EQ(parseWhole(head + std::string(100000, 'a'), false), malformed("status line too long"));
  StatusLineParser small(16);
  EXPECT_EQ(small.feed(std::string_view("HTTP/1.1 200 OK\r\n")), malformed("status line too long"));
}

// Answers that are not HTTP/1.x are rejected at the first wrong byte.
TEST(HttpCheckTest, RejectsNonHttp) {
  EXPECT_EQ(parseWhole("SSH-2.0-OpenSSH_9.2\r\n", false), malformed("not an HTTP response"));
  EXPECT_EQ(parseWhole("http/1.1 200 OK\r\n"), malformed("not an HTTP response"));
  EXPECT_EQ(parseWhole(" HTTP/1.1 200 OK\r\n"), malformed("not an HTTP response"));
  EXPECT_EQ(parseWhole("\r\nHTTP/1.1 200 OK\r\n"), malformed("not an HTTP response"));
  EXPECT_EQ(parseWhole("HTTP/2 200\r\n"), malformed("unsupported HTTP version"));
  EXPECT_EQ(parseWhole("HTTP/0.9 200\r\n"), malformed("unsupported HTTP version"));
  EXPECT_EQ(parseWhole("HTTP/1.x 200\r\n"), malformed("unsupported HTTP version"));
  EXPECT_EQ(parseWhole("HTTP/1.10 200\r\n"), malformed("expected one space after the HTTP version"));
}

// Spaces are strict around the code: exactly one before, one (or a line end) after.
TEST(HttpCheckTest, RejectsMisplacedSpaces) {
  EXPECT_EQ(parseWhole("HTTP/1.1  200 OK\r\n"),
            malformed("more than one space after the HTTP version"));
  EXPECT_EQ(parseWhole("HTTP/1.1\t200 OK\r\n"),
            malformed("expected one space after the HTTP version"));
  EXPECT_EQ(parseWhole("HTTP/1.1200 OK\r\n"),
            malformed("expected one space after the HTTP version"));
  EXPECT_EQ(parseWhole("HTTP/1.1 200\tOK\r\n"), malformed("expected a space after the status code"));
  EXPECT_EQ(parseWhole("HTTP/1.1 200OK\r\n"), malformed("expected a space after the status code"));
}

// Status codes are exactly three digits in 100..599.
TEST(HttpCheckTest, RejectsWeirdCodes) {
  EXPECT_EQ(parseWhole("HTTP/1.1 099 Low\r\n"), malformed("status code out of range"));
  EXPECT_EQ(parseWhole("HTTP/1.1 600 High\r\n"), malformed("status code out of range"));
  EXPECT_EQ(parseWhole("HTTP/1.1 000\r\n"), malformed("status code out of range"));
  EXPECT_EQ(parseWhole("HTTP/1.1 20x OK\r\n"), malformed("status code is not 3 digits"));
  EXPECT_EQ(parseWhole("HTTP/1.1 20 OK\r\n"), malformed("status code is not 3 digits"));
  EXPECT_EQ(parseWhole("HTTP/1.1 2000 OK\r\n"), malformed("status code is not 3 digits"));
  EXPECT_EQ(parseWhole("HTTP/1.1 -20 OK\r\n"), malformed("status code is not 3 digits"));
  EXPECT_EQ(parseWhole("HTTP/1.1 \r\n"), malformed("status code is not 3 digits"));
}

// Control bytes in the reason and a CR without LF are malformed.
TEST(HttpCheckTest, RejectsBadLineEndsAndControlBytes) {
  EXPECT_EQ(parseWhole(std::string_view("HTTP/1.1 200 O\0K\r\n", 18)),
            malformed("control character in reason phrase"));
  EXPECT_EQ(parseWhole("HTTP/1.1 200 OK\rX\n"), malformed("CR not followed by LF"));
  EXPECT_EQ(parseWhole("HTTP/1.1 200\rX"), malformed("CR not followed by LF"));
}

// reset() makes a parser reusable for the next check.
TEST(HttpCheckTest, ResetStartsOver) {
  StatusLineParser p;
  EXPECT_EQ(p.feed(std::string_view("garbage")), malformed("not an HTTP response"));
  p.reset();
  EXPECT_EQ(p.feed(std::string_view("HTTP/1.1 204 \r\n")), status(204));
}

// Ranges are inclusive; an empty list accepts nothing; the default is HAProxy's 2xx-3xx.
TEST(HttpCheckTest, MatchesStatusRanges) {
  const std::vector<StatusRange> ranges = {{200, 204}, {301, 301}};
  EXPECT_TRUE(matches(200, ranges));
  EXPECT_TRUE(matches(204, ranges));
  EXPECT_TRUE(matches(301, ranges));
  EXPECT_FALSE(matches(205, ranges));
  EXPECT_FALSE(matches(302, ranges));
  EXPECT_FALSE(matches(200, {}));
  const StatusRange def[] = {kDefaultStatusRange};
  EXPECT_TRUE(matches(200, def));
  EXPECT_TRUE(matches(399, def));
  EXPECT_FALSE(matches(404, def));
  EXPECT_FALSE(matches(199, def));
}

// The verdict the state machine gets: success, an unexpected status, or a bad response.
TEST(HttpCheckTest, VerdictForTheStateMachine) {
  const StatusRange def[] = {kDefaultStatusRange};
  EXPECT_EQ(verdictOf(status(200), def), std::nullopt);
  EXPECT_EQ(verdictOf(status(503), def), FailureReason::BadStatus);
  EXPECT_EQ(verdictOf(malformed("truncated"), def), FailureReason::BadResponse);
  EXPECT_EQ(verdictOf(StatusResult::needMore(), def), FailureReason::BadResponse);
}
