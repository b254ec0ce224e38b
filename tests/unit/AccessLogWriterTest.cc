// The access log writer: lines from every worker's ring reach the file exactly once and in each
// worker's order, reopen() follows a rotation, the destructor writes what is left, and an
// unwritable path is reported with the OS reason.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ringlb/log/AccessLogWriter.h"

namespace ringlb::log {
namespace {

namespace fs = std::filesystem;

class AccessLogWriterTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ringlb-alog-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string path(const char* name) const { return (dir_ / name).string(); }

  static std::string read(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  static std::unique_ptr<AccessLogWriter> openOk(const std::string& file, std::size_t workers,
                                                 std::size_t ringBytes =
                                                     AccessLogWriter::kRingBytes) {
    std::string error;
    auto writer = AccessLogWriter::open(config::AccessLog{file, config::AccessLogFormat::Text},
                                        workers, &error, ringBytes);
    EXPECT_NE(writer, nullptr) << error;
    EXPECT_EQ(error, "");
    return writer;
  }

  static std::string openError(const std::string& file) {
    std::string error;
    auto writer = AccessLogWriter::open(config::AccessLog{file, config::AccessLogFormat::Json}, 1,
                                        &error);
    EXPECT_EQ(writer, nullptr);
    return error;
  }

  fs::path dir_;
};

// Splits a log into its lines (each without its '\n'); the text must end in '\n'.
std::vector<std::string> linesOf(const std::string& text) {
  EXPECT_TRUE(text.empty() || text.back() == '\n') << "a line was cut";
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Two workers push concurrently: every line arrives exactly once, each worker's in its own
// order, and nothing is dropped (each worker's lines fit its ring even if never drained).
TEST_F(AccessLogWriterTest, LinesFromTwoWorkersAllArriveInTheirOrder) {
  constexpr int kLines = 20000;  // ~20 bytes each: ~400 KB, less than one ring
  const std::string file = path("access.log");
  auto writer = openOk(file, 2);
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w) {
    workers.emplace_back([&writer, w] {
      LineRing& ring = writer->ring(static_cast<std::size_t>(w));
      for (int i = 0; i < kLines; ++i) {
        EXPECT_TRUE(ring.push("worker" + std::to_string(w) + " " + std::to_string(i) + "\n"));
      }
    });
  }
  for (std::thread& t : workers) t.join();
  EXPECT_EQ(writer->dropped(), 0u);
  writer.reset();

  std::map<int, int> next;  // worker -> the sequence number its next line must have
  for (const std::string& line : linesOf(read(file))) {
    int worker = -1;
    int seq = -1;
    ASSERT_EQ(std::sscanf(line.c_str(), "worker%d %d", &worker, &seq), 2) << line;
    EXPECT_EQ(line, "worker" + std::to_string(worker) + " " + std::to_string(seq));
    EXPECT_EQ(seq, next[worker]) << "worker " << worker << " out of order or repeated";
    next[worker] = seq + 1;
  }
  EXPECT_EQ(next, (std::map<int, int>{{0, kLines}, {1, kLines}}));
}

// Bytes pass verbatim: nothing is parsed as a format ({} or %v), nothing is added (no time, no
// level, no second end of line), UTF-8 and a push of two lines stay as they are.
TEST_F(AccessLogWriterTest, LinesAreWrittenVerbatim) {
  const std::string file = path("access.log");
  const std::string lines = "{} {:x} %v %% {\n"
                            "caf\xc3\xa9 \"q\" \\\n"
                            "one push\ntwo lines\n";
  auto writer = openOk(file, 1);
  ASSERT_TRUE(writer->ring(0).push("{} {:x} %v %% {\n"));
  ASSERT_TRUE(writer->ring(0).push("caf\xc3\xa9 \"q\" \\\n"));
  ASSERT_TRUE(writer->ring(0).push("one push\ntwo lines\n"));
  writer.reset();
  EXPECT_EQ(read(file), lines);
}

// The file is appended to, never truncated; a missing file is created with mode 0640 (less the
// umask).
TEST_F(AccessLogWriterTest, AppendsAndCreatesWithMode0640) {
  const std::string existing = path("existing.log");
  std::ofstream(existing) << "kept\n";
  auto writer = openOk(existing, 1);
  ASSERT_TRUE(writer->ring(0).push("added\n"));
  writer.reset();
  EXPECT_EQ(read(existing), "kept\nadded\n");

  const std::string created = path("created.log");
  const mode_t mask = ::umask(0);
  ::umask(mask);
  openOk(created, 1).reset();
  struct stat st {};
  ASSERT_EQ(::stat(created.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640 & ~mask);
  EXPECT_EQ(read(created), "");
}

// The destructor writes the lines still in the rings, well before the next 100 ms round.
TEST_F(AccessLogWriterTest, DestructorWritesWhatIsLeft) {
  const std::string file = path("access.log");
  auto writer = openOk(file, 3);
  std::string expected;
  for (std::size_t w = 0; w < 3; ++w) {
    const std::string line = "last words of " + std::to_string(w) + "\n";
    ASSERT_TRUE(writer->ring(w).push(line));
    expected += line;
  }
  writer.reset();
  EXPECT_EQ(read(file), expected);  // one line per ring: rounds take rings in order
}

// logrotate's create mode: the file is renamed, then reopen() is asked for. Lines pushed after
// reopen() returns are in a new file at the configured path; lines pushed before are in one of
// the two files (the old one unless they were still in a ring), each exactly once.
TEST_F(AccessLogWriterTest, ReopenAfterRenameSendsLaterLinesToANewFile) {
  const std::string file = path("access.log");
  const std::string rotated = path("access.log.1");
  auto writer = openOk(file, 1);
  ASSERT_TRUE(writer->ring(0).push("before 1\n"));
  ASSERT_TRUE(writer->ring(0).push("before 2\n"));
  fs::rename(file, rotated);
  EXPECT_EQ(writer->reopen(), "");
  ASSERT_TRUE(fs::exists(file));
  ASSERT_TRUE(writer->ring(0).push("after 1\n"));
  ASSERT_TRUE(writer->ring(0).push("after 2\n"));
  writer.reset();

  const std::string old = read(rotated);
  const std::string fresh = read(file);
  // Each worker's order holds across the two files: the old file has a prefix of the pushes.
  EXPECT_EQ(old + fresh, "before 1\nbefore 2\nafter 1\nafter 2\n");
  EXPECT_NE(fresh.find("after 1\nafter 2\n"), std::string::npos) << fresh;
  EXPECT_EQ(old.find("after"), std::string::npos) << old;
}

// A reopen that cannot open the path reports why and keeps writing to the file it has.
TEST_F(AccessLogWriterTest, FailedReopenKeepsTheOldFile) {
  const std::string file = path("access.log");
  const std::string rotated = path("access.log.1");
  auto writer = openOk(file, 1);
  fs::rename(file, rotated);
  fs::create_directory(file);  // the path is now a directory: it cannot be opened for writing
  EXPECT_EQ(writer->reopen(), "cannot open access log \"" + file + "\": Is a directory");
  ASSERT_TRUE(writer->ring(0).push("still here\n"));
  writer.reset();
  EXPECT_EQ(read(rotated), "still here\n");
}

// Opening fails with the path and the OS reason, and creates nothing on the way (no directory
// is made for a missing one).
TEST_F(AccessLogWriterTest, OpenOnAnUnwritablePathReportsTheError) {
  const std::string notADirectory = path("plain");
  std::ofstream(notADirectory) << "x";
  EXPECT_EQ(openError(notADirectory + "/access.log"),
            "cannot open access log \"" + notADirectory + "/access.log\": Not a directory");
  EXPECT_EQ(openError(dir_.string()),
            "cannot open access log \"" + dir_.string() + "\": Is a directory");
  const std::string missing = path("missing");
  EXPECT_EQ(openError(missing + "/access.log"),
            "cannot open access log \"" + missing + "/access.log\": No such file or directory");
  EXPECT_FALSE(fs::exists(missing));
}

// An empty path means no access log: there is nothing to open.
TEST_F(AccessLogWriterTest, EmptyPathIsAnError) {
  EXPECT_EQ(openError(""), "no access log path: the access log is off");
}

// dropped() sums the rings' drops. A line longer than a ring never fits, whatever the writer
// has drained, so the count is exact.
TEST_F(AccessLogWriterTest, DroppedSumsEveryRing) {
  auto writer = openOk(path("access.log"), 2, 16);
  const std::string tooLong(17, 'x');
  EXPECT_FALSE(writer->ring(0).push(tooLong));
  EXPECT_FALSE(writer->ring(1).push(tooLong));
  EXPECT_FALSE(writer->ring(1).push(tooLong));
  EXPECT_EQ(writer->dropped(), 3u);
  EXPECT_EQ(writer->ring(0).capacity(), 16u);
  EXPECT_EQ(writer->workers(), 2u);
}

// "stdout" writes to standard output, verbatim; reopen() has nothing to do there.
TEST_F(AccessLogWriterTest, StdoutWritesVerbatim) {
  testing::internal::CaptureStdout();
  std::string error;
  auto writer = AccessLogWriter::open(
      config::AccessLog{std::string(config::kAccessLogStdout), config::AccessLogFormat::Text}, 1,
      &error);
  ASSERT_NE(writer, nullptr) << error;
  EXPECT_EQ(writer->reopen(), "");
  ASSERT_TRUE(writer->ring(0).push("to stdout {}\n"));
  writer.reset();
  EXPECT_EQ(testing::internal::GetCapturedStdout(), "to stdout {}\n");
}

}  // namespace
}  // namespace ringlb::log
