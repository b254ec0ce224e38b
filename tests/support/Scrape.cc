#include "support/Scrape.h"

#include <sys/socket.h>

#include <cstdlib>

#include "support/Client.h"

namespace ringlb::test {

std::uint16_t metricsPort(const std::string& log) {
  const std::string marker = "metrics on http://";
  const std::size_t at = log.find(marker);
  if (at == std::string::npos) return 0;
  const std::size_t end = log.find("/metrics", at + marker.size());
  const std::size_t colon = log.rfind(':', end);
  if (end == std::string::npos || colon == std::string::npos || colon < at) return 0;
  return static_cast<std::uint16_t>(std::atoi(log.substr(colon + 1, end - colon - 1).c_str()));
}

std::optional<std::string> scrape(std::uint16_t port, const Deadline& deadline) {
  ConnectResult c = connectLocal(port);
  if (!c.fd) return std::nullopt;
  if (!sendAll(c.fd.get(), "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n", deadline)) return std::nullopt;
  const ReadResult r = readUntilEnd(c.fd.get(), deadline);
  if (r.end != StreamEnd::Eof || r.data.rfind("HTTP/1.", 0) != 0) return std::nullopt;
  const std::size_t body = r.data.find("\r\n\r\n");
  if (body == std::string::npos || r.data.find(" 200 ") > body) return std::nullopt;
  return r.data.substr(body + 4);
}

std::optional<double> sample(const std::string& body, const std::string& series) {
  const std::string prefix = series + " ";
  std::size_t at = 0;
  while ((at = body.find(prefix, at)) != std::string::npos) {
    if (at == 0 || body[at - 1] == '\n') {
      return std::strtod(body.c_str() + at + prefix.size(), nullptr);
    }
    at += prefix.size();
  }
  return std::nullopt;
}

}  // namespace ringlb::test
