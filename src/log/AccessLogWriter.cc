#include "ringlb/log/AccessLogWriter.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

namespace ringlb::log {
namespace {

// Client addresses are personal data in many places: not readable by everyone.
constexpr mode_t kFileMode = 0640;

std::string openError(const std::string& path, std::string_view reason) {
  // {:?}: the path quoted and escaped, so a control byte in it cannot reach a terminal as is.
  return fmt::format("cannot open access log {:?}: {}", path, reason);
}

// A logger that writes each message verbatim: pattern "%v" and no end of line of its own, since
// every chunk already ends in its lines' '\n'. Not registered with spdlog, so spdlog::set_level
// and the like never reach it.
std::shared_ptr<spdlog::logger> makeLogger(spdlog::sink_ptr sink) {
  auto logger = std::make_shared<spdlog::logger>("access_log", std::move(sink));
  logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      "%v", spdlog::pattern_time_type::utc, std::string()));
  logger->set_level(spdlog::level::info);
  return logger;
}

// Opens `path` for appending. The file is created (or its error found) by our own open(2)
// first: spdlog's file helper would create missing directories, retry for 50 ms, and report a
// failure only as an exception whose errno may have been overwritten meanwhile.
std::shared_ptr<spdlog::logger> openFile(const std::string& path, std::string* error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, kFileMode);
  if (fd < 0) {
    *error = openError(path, std::strerror(errno));
    return nullptr;
  }
  ::close(fd);
  try {
    return makeLogger(std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false));
  } catch (const std::exception& e) {
    // The file went away between the two opens (or its directory did).
    *error = openError(path, e.what());
    return nullptr;
  }
}

}  // namespace

std::unique_ptr<AccessLogWriter> AccessLogWriter::open(const config::AccessLog& config,
                                                       std::size_t workers, std::string* error,
                                                       std::size_t ringBytes) {
  if (config.path.empty()) {
    *error = "no access log path: the access log is off";
    return nullptr;
  }
  std::shared_ptr<spdlog::logger> logger;
  std::string path;
  if (config.path == config::kAccessLogStdout) {
    logger = makeLogger(std::make_shared<spdlog::sinks::stdout_sink_mt>());
  } else {
    path = config.path;
    logger = openFile(path, error);
    if (!logger) return nullptr;
  }
  return std::unique_ptr<AccessLogWriter>(
      new AccessLogWriter(std::move(path), std::move(logger), workers, ringBytes));
}

AccessLogWriter::AccessLogWriter(std::string path, std::shared_ptr<spdlog::logger> logger,
                                 std::size_t workers, std::size_t ringBytes)
    : path_(std::move(path)), logger_(std::move(logger)) {
  rings_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) rings_.push_back(std::make_unique<LineRing>(ringBytes));
  thread_ = std::thread([this] { run(); });
}

AccessLogWriter::~AccessLogWriter() {
  {
    std::lock_guard lock(wakeMutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void AccessLogWriter::run() {
  for (;;) {
    const bool busy = drainAll();
    std::unique_lock lock(wakeMutex_);
    if (stopping_) break;
    if (!busy) wake_.wait_for(lock, kDrainInterval, [this] { return stopping_; });
  }
  // The workers have stopped (the destructor's precondition): what is left is all there is.
  drainAll();
}

bool AccessLogWriter::drainAll() {
  bool busy = false;
  for (const std::unique_ptr<LineRing>& ring : rings_) {
    const std::size_t drained = ring->drain([this](std::string_view chunk) {
      std::lock_guard lock(loggerMutex_);
      // The string_view overload: the chunk is written as is, never parsed as a format string.
      logger_->log(spdlog::source_loc{}, spdlog::level::info,
                   spdlog::string_view_t(chunk.data(), chunk.size()));
    });
    if (drained > ring->capacity() / 4) busy = true;
  }
  std::lock_guard lock(loggerMutex_);
  logger_->flush();
  return busy;
}

std::string AccessLogWriter::reopen() {
  if (path_.empty()) return {};  // standard output: nothing to rotate
  std::string error;
  // Opened before taking the lock: the writer goes on with the old file meanwhile.
  std::shared_ptr<spdlog::logger> fresh = openFile(path_, &error);
  if (!fresh) return error;
  std::lock_guard lock(loggerMutex_);
  logger_->flush();
  logger_ = std::move(fresh);  // the old file is closed here, its last bytes flushed
  return {};
}

uint64_t AccessLogWriter::dropped() const {
  uint64_t total = 0;
  for (const std::unique_ptr<LineRing>& ring : rings_) total += ring->dropped();
  return total;
}

}  // namespace ringlb::log
