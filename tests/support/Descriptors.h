#pragma once
// File-descriptor limits and counts, of the test process and of a ringlb under test.
#include <sys/resource.h>
#include <sys/types.h>

namespace ringlb::test {

// Sets a running process's descriptor limit (soft and hard) with prlimit(2). ringlb reads its
// limit again when it runs into EMFILE, so a lowered limit takes effect at the first shortage.
bool setDescriptorLimit(pid_t pid, rlim_t n);

// Makes sure this (the test) process may open at least `n` descriptors, raising the soft limit
// up to the hard one if needed. False if the hard limit is lower: skip or fail the test then.
bool ensureOwnDescriptorLimit(rlim_t n);

// Descriptors the process has open now (entries of /proc/PID/fd); -1 if unreadable.
long openDescriptorCount(pid_t pid);

}  // namespace ringlb::test
