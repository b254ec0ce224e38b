#include "support/DuplexClient.h"

#include <thread>
#include <vector>

#include "support/DuplexProtocol.h"
#include "support/Pattern.h"

namespace ringlb::test {

DuplexResult runDuplex(std::uint16_t port, const DuplexOptions& options) {
  DuplexResult result;
  const Deadline deadline(options.timeout);
  ConnectResult c = connectLocal(port, 5s);
  if (!c.fd) {
    result.connectError = c.error;
    return result;
  }
  const int fd = c.fd.get();
  std::thread sender([&] {
    const auto header = duplex::encode({options.seed, options.receiveBytes});
    if (!sendAll(fd, header, deadline, &result.sendError)) return;
    const Pattern pattern(duplex::clientStreamSeed(options.seed));
    Sha256 sha;
    std::vector<std::uint8_t> buf(options.chunk);
    for (std::uint64_t off = 0; off < options.sendBytes;) {
      const auto len = static_cast<std::size_t>(
          std::min<std::uint64_t>(options.chunk, options.sendBytes - off));
      std::span<std::uint8_t> chunk(buf.data(), len);
      pattern.fill(off, chunk);
      if (!sendAll(fd, chunk, deadline, &result.sendError)) return;
      sha.update(chunk);
      off += len;
      result.bytesSent = off;
      if (options.pause != Clock::duration::zero()) std::this_thread::sleep_for(options.pause);
    }
    result.sentSha = sha.finish();
    result.sendOk = true;
    shutdownWrite(fd);
  });
  result.received = drainUntilEnd(fd, deadline);
  sender.join();
  return result;
}

Digest patternSha(std::uint64_t seed, std::uint64_t n) {
  const Pattern pattern(seed);
  Sha256 sha;
  std::vector<std::uint8_t> buf(256 * 1024);
  for (std::uint64_t off = 0; off < n;) {
    const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), n - off));
    pattern.fill(off, std::span(buf.data(), len));
    sha.update(std::span(buf.data(), len));
    off += len;
  }
  return sha.finish();
}

}  // namespace ringlb::test
