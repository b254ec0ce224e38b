#pragma once
// A client of ringlb's admin socket for tests: one connection, commands sent one line at a time,
// replies read up to their terminating empty line.
#include <string>

#include "support/Deadline.h"
#include "support/Fd.h"

namespace ringlb::test {

class AdminClient {
 public:
  // Connects to the unix socket at `path` (valid() tells whether it worked).
  explicit AdminClient(const std::string& path);
  bool valid() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }
  // Sends `line` + "\n" and returns the reply without its terminating empty line ("" if the
  // connection ended or the deadline passed first).
  std::string command(const std::string& line, const Deadline& deadline = Deadline(5s));
  // The next reply, without sending anything (for a command sent by hand).
  std::string reply(const Deadline& deadline = Deadline(5s));

 private:
  Fd fd_;
  std::string pending_;  // bytes read past the last reply
};

// One command on a fresh connection.
std::string adminCommand(const std::string& path, const std::string& line);

}  // namespace ringlb::test
