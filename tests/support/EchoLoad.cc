#include "support/EchoLoad.h"

#include <sys/socket.h>

#include <random>

#include "support/Client.h"

namespace ringlb::test {

EchoLoad::EchoLoad(std::uint16_t port, unsigned threads) {
  for (unsigned t = 0; t < threads; ++t) {
    threads_.emplace_back([this, port, t] { run(port, t); });
  }
}

void EchoLoad::stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::string EchoLoad::firstFailure() const {
  std::lock_guard lock(mutex_);
  return firstFailure_;
}

void EchoLoad::fail(const std::string& why) {
  ++failed_;
  std::lock_guard lock(mutex_);
  if (firstFailure_.empty()) firstFailure_ = why;
}

void EchoLoad::run(std::uint16_t port, unsigned seed) {
  std::mt19937 random(seed);
  std::string payload;
  while (!stop_) {
    ConnectResult c = connectLocal(port);
    if (!c.fd) {
      fail("connect failed");
      continue;
    }
    const std::size_t size = 1 + random() % (64 * 1024);
    payload.resize(size);
    for (char& ch : payload) ch = static_cast<char>(random());
    const std::size_t half = size / 2;
    if (!echoes(c.fd.get(), payload.substr(0, half)) || !echoes(c.fd.get(), payload.substr(half))) {
      fail("echo differs or stopped");
      continue;
    }
    ::shutdown(c.fd.get(), SHUT_WR);
    const ReadResult end = readUntilEnd(c.fd.get(), Deadline(5s));
    if (end.end != StreamEnd::Eof || !end.data.empty()) {
      fail(std::string("end of stream: ") + toString(end.end));
      continue;
    }
    ++ok_;
  }
}

}  // namespace ringlb::test
