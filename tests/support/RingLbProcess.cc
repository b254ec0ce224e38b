#include "support/RingLbProcess.h"

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>


namespace ringlb::test {

namespace {

// Every "frontend 'NAME' listening on ADDR" line of `text`, in order, e.g.
// "... frontend 'web' listening on 127.0.0.1:41234" or "... on [::1]:41234".
// Parsed by hand: GCC 12's <regex> trips -Wmaybe-uninitialized under the sanitizers.
bool parseListeners(const std::string& text, std::vector<RingLbProcess::Listener>* out, std::string* error) {
  static const std::string kFrontend = "frontend '";
  static const std::string kListening = "' listening on ";
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto at = line.find(kFrontend);
    if (at == std::string::npos) continue;
    const auto nameStart = at + kFrontend.size();
    const auto nameEnd = line.find(kListening, nameStart);
    if (nameEnd == std::string::npos) continue;
    const auto addrStart = nameEnd + kListening.size();
    const auto addrEnd = line.find_first_of(" \t\r", addrStart);
    const std::string addrText = line.substr(addrStart, addrEnd - addrStart);
    std::string parseError;
    auto addr = net::Address::parse(addrText, &parseError);
    if (!addr) {
      *error = "unparsable listening address '" + addrText + "': " + parseError;
      return false;
    }
    out->push_back({line.substr(nameStart, nameEnd - nameStart), *addr});
  }
  return true;
}

}  // namespace

bool RingLbProcess::rewriteConfig(const std::string& yaml) {
  const std::string staged = dir_.write("ringlb.yaml.next", yaml);
  return !staged.empty() && std::rename(staged.c_str(), configPath_.c_str()) == 0;
}

std::uint16_t RingLbProcess::waitForListener(const std::string& frontend, const Deadline& deadline) {
  for (;;) {
    std::vector<Listener> found;
    std::string error;
    parseListeners(log(), &found, &error);
    for (auto it = found.rbegin(); it != found.rend(); ++it) {
      if (it->frontend == frontend) return it->address.port();
    }
    if (deadline.passed()) return 0;
    std::this_thread::sleep_for(10ms);
  }
}

std::size_t RingLbProcess::countInLog(const std::string& text) const {
  const std::string all = log();
  std::size_t n = 0;
  for (std::size_t at = all.find(text); at != std::string::npos; at = all.find(text, at + text.size())) ++n;
  return n;
}

RingLbProcess::~RingLbProcess() {
  if (process_.running()) {
    process_.signal(SIGKILL);
    process_.waitExit(10s);
  }
  if (!logPath_.empty() && ::testing::Test::HasFailure()) {
    std::fprintf(stderr, "---- ringlb log (%s) ----\n%s---- end of ringlb log ----\n",
                 logPath_.c_str(), log().c_str());
  }
}

::testing::AssertionResult RingLbProcess::start(const std::string& yaml,
                                                Clock::duration readyTimeout) {
  if (dir_.path().empty()) return ::testing::AssertionFailure() << "cannot create a temp dir";
  const std::string configPath = dir_.write("ringlb.yaml", yaml);
  configPath_ = configPath;
  logPath_ = dir_.path() + "/ringlb.log";
  if (configPath.empty()) return ::testing::AssertionFailure() << "cannot write the config";
  std::vector<std::string> argv{binary_, "-c", configPath};
  argv.insert(argv.end(), arguments_.begin(), arguments_.end());
  if (!process_.start(argv, logPath_, logPath_, environment_)) {
    return ::testing::AssertionFailure() << "cannot start " << binary_;
  }
  const Deadline deadline(readyTimeout);
  for (;;) {
    const std::string text = log();
    if (text.find("ringlb ready") != std::string::npos) {
      std::string error;
      if (!parseListeners(text, &listeners_, &error)) {
        return ::testing::AssertionFailure() << error << "\n---- ringlb log ----\n" << text;
      }
      return ::testing::AssertionSuccess();
    }
    if (!process_.running()) {
      return ::testing::AssertionFailure()
             << "ringlb exited before 'ringlb ready' ("
             << (process_.status() ? process_.status()->toString() : "?") << ")"
             << "\n---- config ----\n" << yaml << "---- ringlb log ----\n" << text;
    }
    if (deadline.passed()) {
      return ::testing::AssertionFailure() << "no 'ringlb ready' within the deadline ("
                                           << process_.describe() << ")"
                                           << "\n---- ringlb log ----\n" << text;
    }
    std::this_thread::sleep_for(10ms);
  }
}

void RingLbProcess::reuseFreedMemoryUnderAsan() {
  const char* inherited = std::getenv("ASAN_OPTIONS");
  std::string options = inherited != nullptr ? inherited : "";
  if (!options.empty()) options += ":";
  options += "quarantine_size_mb=0:thread_local_quarantine_size_kb=0";
  setEnvironment("ASAN_OPTIONS", options);
}

std::uint16_t RingLbProcess::port(const std::string& frontend) const {
  for (const auto& l : listeners_) {
    if (l.frontend == frontend) return l.address.port();
  }
  return 0;
}

long RingLbProcess::rssKb() const {
  if (pid() <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid()) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      long kb = -1;
      fields >> kb;
      return kb;
    }
  }
  return -1;
}

std::string RingLbProcess::log() const { return logPath_.empty() ? "" : readFile(logPath_); }

bool RingLbProcess::waitForLog(const std::string& text, const Deadline& deadline) {
  while (log().find(text) == std::string::npos) {
    if (deadline.passed()) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

::testing::AssertionResult RingLbProcess::sighupAndWait(const std::string& outcome) {
  const std::string line = "reload of " + configPath_ + " " + outcome;
  const std::size_t before = countInLog(line);
  if (!signal(SIGHUP)) return ::testing::AssertionFailure() << "kill -HUP failed";
  const Deadline deadline(20s);
  while (countInLog(line) <= before) {
    if (deadline.passed()) return ::testing::AssertionFailure() << "no '" << line << "' in the log";
    std::this_thread::sleep_for(10ms);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult RingLbProcess::reloadWith(const std::string& yaml) {
  if (!rewriteConfig(yaml)) return ::testing::AssertionFailure() << "cannot rewrite " << configPath_;
  return sighupAndWait("done");
}

}  // namespace ringlb::test
