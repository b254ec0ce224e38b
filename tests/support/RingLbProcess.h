#pragma once
// A ringlb process under test: writes the config to a temporary file, runs `BINARY -c FILE`
// with stderr captured, and waits for the `ringlb ready` line.
// The addresses come from the `frontend 'NAME' listening on ADDR` lines, so configs listen on
// port 0 and tests never race for ports.
//
// The destructor kills a still-running process (SIGKILL) and, if the current test failed,
// prints the captured log: a proxy bug usually explains itself there.
#include <sys/types.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ringlb/net/Address.h"
#include "support/Deadline.h"
#include "support/Subprocess.h"
#include "support/TempDir.h"

namespace ringlb::test {

class RingLbProcess {
 public:
  struct Listener {
    std::string frontend;
    net::Address address;
  };

  // binary: the executable under test; tests pass RINGLB_BINARY (a macro only the
  // integration_tests target defines, hence not baked into this library).
  explicit RingLbProcess(std::string binary) : binary_(std::move(binary)) {}
  ~RingLbProcess();
  RingLbProcess(const RingLbProcess&) = delete;
  RingLbProcess& operator=(const RingLbProcess&) = delete;

  // More command-line arguments after `-c FILE` (before start()).
  void addArguments(const std::vector<std::string>& args) {
    arguments_.insert(arguments_.end(), args.begin(), args.end());
  }
  // Sets NAME=VALUE in the environment ringlb will start with (before start()).
  void setEnvironment(const std::string& name, const std::string& value) {
    environment_.push_back(name + "=" + value);
  }
  // Under AddressSanitizer, freed memory sits in a quarantine (256 MB by default) instead of
  // being reused, so a ringlb that frees memory does not show it in its RSS. Tests that measure
  // RSS call this before start(): ASan then reuses freed memory at once, like the release
  // build's malloc. Harmless without ASan.
  void reuseFreedMemoryUnderAsan();

  // Starts ringlb on `yaml` and waits (bounded) until it logged `ringlb ready`. On failure the
  // message carries the reason and the log: use as ASSERT_TRUE(proxy.start(yaml)).
  ::testing::AssertionResult start(const std::string& yaml, Clock::duration readyTimeout = 30s);

  pid_t pid() const { return process_.pid(); }
  const std::vector<Listener>& listeners() const { return listeners_; }
  // Port of the first address frontend `name` listens on; 0 if it logged none.
  std::uint16_t port(const std::string& frontend = "web") const;
  // The configuration file ringlb was started with.
  const std::string& configPath() const { return configPath_; }
  // Replaces the configuration file's contents at once (write + rename: a reload never reads
  // half a file). For SIGHUP / `ringlb ctl reload` tests.
  bool rewriteConfig(const std::string& yaml);
  // Waits until the log names an address for frontend `name` (a reload added it) and returns
  // the port of the last one named; 0 at the deadline.
  std::uint16_t waitForListener(const std::string& frontend, const Deadline& deadline);
  // How many times the log contains `text`.
  std::size_t countInLog(const std::string& text) const;
  // Resident set size from /proc/PID/status (VmRSS), in kB; -1 if unavailable.
  long rssKb() const;

  bool running() { return process_.running(); }
  bool signal(int sig) const { return process_.signal(sig); }
  std::optional<ExitStatus> waitExit(Clock::duration timeout) { return process_.waitExit(timeout); }
  // Everything ringlb wrote to stderr (and stdout) so far.
  std::string log() const;
  // Waits until the log contains `text`.
  bool waitForLog(const std::string& text, const Deadline& deadline);
  // Sends SIGHUP and waits (20 s at most) until the log reports the reload's end: `outcome` is
  // "done" or "failed", counted against the lines already there.
  ::testing::AssertionResult sighupAndWait(const std::string& outcome);
  // rewriteConfig(yaml), then sighupAndWait("done"): the reload every reload test makes. "done"
  // is logged once every worker uses the new snapshot for its new connections.
  ::testing::AssertionResult reloadWith(const std::string& yaml);

 private:
  std::string binary_;
  TempDir dir_;
  Subprocess process_;
  std::string logPath_;
  std::string configPath_;
  std::vector<Listener> listeners_;
  std::vector<std::string> environment_;  // NAME=VALUE, for the child
  std::vector<std::string> arguments_;
};

}  // namespace ringlb::test
