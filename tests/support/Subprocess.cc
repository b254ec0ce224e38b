#include "support/Subprocess.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <thread>

#include "support/TempDir.h"

namespace ringlb::test {

std::string ExitStatus::toString() const {
  return exited ? "exit code " + std::to_string(code) : "killed by signal " + std::to_string(signal);
}

Subprocess::~Subprocess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    reap(0);
  }
}

bool Subprocess::start(const std::vector<std::string>& argv, const std::string& stdoutPath,
                       const std::string& stderrPath,
                       const std::vector<std::string>& environment) {
  // Everything the child needs is prepared before fork: between fork and exec only
  // async-signal-safe calls are allowed (the test process has many threads).
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int out = ::open(stdoutPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  // The same path for both: one open file description, so the two streams don't overwrite
  // each other's offsets.
  const int err = stderrPath == stdoutPath
                      ? ::fcntl(out, F_DUPFD_CLOEXEC, 0)
                      : ::open(stderrPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || err < 0 || in < 0) {
    for (int fd : {out, err, in}) {
      if (fd >= 0) ::close(fd);
    }
    return false;
  }
  const pid_t parent = ::getpid();
  // The child's environment: ours, with `environment`'s NAME=VALUE entries replacing or added.
  std::vector<std::string> envStrings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& extra : environment) replaced |= extra.substr(0, extra.find('=')) == name;
    if (!replaced) envStrings.push_back(entry);
  }
  envStrings.insert(envStrings.end(), environment.begin(), environment.end());
  std::vector<char*> envPointers;
  for (auto& e : envStrings) envPointers.push_back(e.data());
  envPointers.push_back(nullptr);
  char** const env = envPointers.data();
  sigset_t none;
  sigemptyset(&none);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Raw system calls only. The test process has many threads, and under the sanitizers the
    // libc wrappers are interceptors that may take a lock some other thread held at fork time:
    // one such deadlock would leave a child that never reaches exec (seen as a ringlb that
    // never logs a line).
    ::syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::syscall(SYS_getppid) != parent) ::syscall(SYS_exit_group, 126);  // parent died first
    ::syscall(SYS_dup2, in, 0);
    ::syscall(SYS_dup2, out, 1);
    ::syscall(SYS_dup2, err, 2);
    // No test socket may leak into the child, or closing it in the test would not end the
    // connection. Most are close-on-exec already; this also covers gtest's and the sanitizers'.
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, _NSIG / 8);
    ::syscall(SYS_execve, args[0], args.data(), env);
    ::syscall(SYS_exit_group, 127);
  }
  const int forkErrno = errno;
  ::close(out);
  ::close(err);
  ::close(in);
  if (pid < 0) {
    errno = forkErrno;
    return false;
  }
  pid_ = pid;
  status_.reset();
  return true;
}

std::string Subprocess::describe() const {
  if (pid_ <= 0) return "not started";
  const std::string proc = "/proc/" + std::to_string(pid_);
  std::string text = "pid " + std::to_string(pid_);
  char exe[512];
  const ssize_t n = ::readlink((proc + "/exe").c_str(), exe, sizeof exe - 1);
  text += ", executable " + (n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : "?");
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(proc + "/task", ec)) {
    const std::string t = task.path().string();
    auto first = [](const std::string& path) {
      std::string s = readFile(path);
      return s.substr(0, s.find('\n'));
    };
    const std::string stat = first(t + "/stat");
    const auto close = stat.rfind(')');
    const std::string state = close == std::string::npos ? "?" : stat.substr(close + 2, 1);
    text += "\n  thread " + task.path().filename().string() + " '" + first(t + "/comm") +
            "' state " + state + " waiting in " + first(t + "/wchan");
  }
  return text;
}

bool Subprocess::reap(int flags) {
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, flags);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return false;
  ExitStatus s;
  s.exited = WIFEXITED(st);
  s.code = s.exited ? WEXITSTATUS(st) : 0;
  s.signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  status_ = s;
  pid_ = -1;
  return true;
}

bool Subprocess::running() {
  if (pid_ <= 0) return false;
  return !reap(WNOHANG);
}

bool Subprocess::signal(int sig) const { return pid_ > 0 && ::kill(pid_, sig) == 0; }

std::optional<ExitStatus> Subprocess::waitExit(Clock::duration timeout) {
  const Deadline deadline(timeout);
  while (running()) {
    if (deadline.passed()) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
  return status_;
}

CommandResult runCommand(const std::vector<std::string>& argv, Clock::duration timeout) {
  CommandResult result;
  TempDir dir;
  const std::string outPath = dir.path() + "/stdout";
  const std::string errPath = dir.path() + "/stderr";
  Subprocess p;
  if (!p.start(argv, outPath, errPath)) {
    result.err = "runCommand: cannot start " + argv.at(0);
    return result;
  }
  result.status = p.waitExit(timeout);
  if (!result.status) {
    p.signal(SIGKILL);
    p.waitExit(5s);
  }
  result.out = readFile(outPath);
  result.err = readFile(errPath);
  return result;
}

}  // namespace ringlb::test
