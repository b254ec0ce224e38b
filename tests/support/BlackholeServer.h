#pragma once
// A listening socket whose connects time out: listen(fd, 0), never accept, and fill the accept
// queue with our own connections so the kernel drops every further SYN (no SYN-ACK, no RST).
// This is how a backend that is up but overwhelmed, or behind a dropping firewall, looks.
#include <cstdint>
#include <string>
#include <vector>

#include "support/Fd.h"

namespace ringlb::test {

class BlackholeServer {
 public:
  BlackholeServer();
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // True once a probe connect was seen to hang, i.e. the queue really is full.
  bool ready() const { return ready_; }

 private:
  Fd listener_;
  std::vector<Fd> fillers_;  // our own connections occupying the accept queue
  std::uint16_t port_ = 0;
  bool ready_ = false;
};

}  // namespace ringlb::test
