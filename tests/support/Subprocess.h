#pragma once
// A child process started with fork/exec, its stdout and stderr captured to files.
// The destructor kills (SIGKILL) and reaps a child that is still running, so no test leaves a
// process behind; the child also gets SIGKILL if the test process dies (PR_SET_PDEATHSIG).
//
// Thread: start(), waitExit() and the destructor from the same thread (the one that forked,
// because PDEATHSIG fires when that thread exits).
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "support/Deadline.h"

namespace ringlb::test {

struct ExitStatus {
  bool exited = false;  // normal exit; else killed by `signal`
  int code = 0;
  int signal = 0;
  bool ok() const { return exited && code == 0; }
  std::string toString() const;
};

class Subprocess {
 public:
  Subprocess() = default;
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // argv[0] is the executable path. Returns false (errno set) if the fork or the redirections
  // failed; an exec failure shows as exit code 127. The child gets this process's environment
  // with the NAME=VALUE entries of `environment` replacing or added to it.
  bool start(const std::vector<std::string>& argv, const std::string& stdoutPath,
             const std::string& stderrPath, const std::vector<std::string>& environment = {});

  pid_t pid() const { return pid_; }
  // True while started and not yet reaped (reaps it if it has exited).
  bool running();
  bool signal(int sig) const;
  // For failure messages: what the child is running and where each of its threads waits
  // (/proc: executable, thread name, scheduler state, wait channel).
  std::string describe() const;
  // Waits until the child exits; nullopt if the timeout passed first (the child keeps running).
  std::optional<ExitStatus> waitExit(Clock::duration timeout);
  // The status once reaped.
  const std::optional<ExitStatus>& status() const { return status_; }

 private:
  bool reap(int flags);

  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
};

// Runs argv to completion (SIGKILL after `timeout`), returning status, stdout and stderr.
struct CommandResult {
  std::optional<ExitStatus> status;  // nullopt if it had to be killed
  std::string out;
  std::string err;
};
CommandResult runCommand(const std::vector<std::string>& argv, Clock::duration timeout = 10s);

}  // namespace ringlb::test
