#pragma once
// A loopback port where nothing listens, so a connect is refused at once (the kernel answers the
// SYN with RST). The port stays bound (without listen) for the object's lifetime, so no other
// test can start listening on it meanwhile.
#include <cstdint>
#include <string>

#include "support/Fd.h"

namespace ringlb::test {

class ClosedPort {
 public:
  ClosedPort();
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  Fd fd_;
  std::uint16_t port_ = 0;
};

}  // namespace ringlb::test
