// ringlb must refuse to start, with exit status 1 and a message naming the cause, when io_uring
// is unavailable. We make it unavailable the way container runtimes do: a seccomp filter that
// answers io_uring_setup with EPERM, installed in the child before exec.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace {

struct Outcome {
  int status = -1;
  std::string stderrText;
};

// Runs ringlb -c config with io_uring_setup denied by seccomp.
Outcome runWithIoUringBlocked(const std::string& configPath) {
  int pipeFds[2];
  if (pipe(pipeFds) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipeFds[1], STDERR_FILENO);
    close(pipeFds[0]);
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
      _exit(99);
    }
    execl(RINGLB_BINARY, RINGLB_BINARY, "-c", configPath.c_str(), static_cast<char*>(nullptr));
    _exit(98);
  }
  close(pipeFds[1]);
  Outcome out;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipeFds[0], buf, sizeof buf)) > 0) out.stderrText.append(buf, static_cast<std::size_t>(n));
  close(pipeFds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

}  // namespace

// Blocked io_uring: exit 1 (not a crash, not a hang) with a message naming seccomp.
TEST(IoUringProbeTest, ExitsWithReasonWhenSeccompBlocksIoUring) {
  char dir[] = "/tmp/ringlb-probe-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string config = std::string(dir) + "/ringlb.yaml";
  std::ofstream(config) << "frontends:\n"
                           "  - { name: web, listen: \"127.0.0.1:0\", backend: app }\n"
                           "backends:\n"
                           "  - { name: app, servers: [ { name: s1, address: \"127.0.0.1:9\" } ] }\n";
  const Outcome out = runWithIoUringBlocked(config);
  EXPECT_EQ(out.status, 1) << out.stderrText;
  EXPECT_NE(out.stderrText.find("seccomp"), std::string::npos) << out.stderrText;
  EXPECT_NE(out.stderrText.find("io_uring"), std::string::npos) << out.stderrText;
  std::remove(config.c_str());
  rmdir(dir);
}
