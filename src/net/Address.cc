#include "ringlb/net/Address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace ringlb::net {
namespace {

bool parsePort(std::string_view text, uint16_t* port) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value > 65535) {
    return false;
  }
  *port = static_cast<uint16_t>(value);
  return true;
}

void setError(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
}

}  // namespace

std::optional<Address> Address::parse(std::string_view text, std::string* error) {
  Address out;
  std::string host;
  std::string_view portText;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      setError(error, "expected \"[ipv6]:port\"");
      return std::nullopt;
    }
    host = std::string(text.substr(1, close - 1));
    portText = text.substr(close + 2);
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage_);
    if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) != 1) {
      setError(error, "\"" + host + "\" is not an IPv6 address");
      return std::nullopt;
    }
    sin6->sin6_family = AF_INET6;
    out.length_ = sizeof(sockaddr_in6);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      setError(error, "expected \"ip:port\" or \"[ipv6]:port\"");
      return std::nullopt;
    }
    host = std::string(text.substr(0, colon));
    portText = text.substr(colon + 1);
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage_);
    if (host.find(':') != std::string::npos) {
      setError(error, "IPv6 addresses must be bracketed, as in \"[::1]:80\"");
      return std::nullopt;
    }
    if (inet_pton(AF_INET, host.c_str(), &sin->sin_addr) != 1) {
      setError(error, "\"" + host + "\" is not an IPv4 address (host names are not resolved)");
      return std::nullopt;
    }
    sin->sin_family = AF_INET;
    out.length_ = sizeof(sockaddr_in);
  }
  uint16_t port = 0;
  if (!parsePort(portText, &port)) {
    setError(error, "\"" + std::string(portText) + "\" is not a port number (0-65535)");
    return std::nullopt;
  }
  out.setPort(port);
  return out;
}

Address Address::fromSockaddr(const sockaddr* sa, socklen_t len) {
  Address out;
  if (len > sizeof(out.storage_)) len = sizeof(out.storage_);
  std::memcpy(&out.storage_, sa, len);
  out.length_ = len;
  return out;
}

uint16_t Address::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

void Address::setPort(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

std::span<const std::uint8_t> Address::ipBytes() const {
  if (family() == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&storage_);
    return {reinterpret_cast<const std::uint8_t*>(&sin->sin_addr), 4};
  }
  if (family() == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
    return {reinterpret_cast<const std::uint8_t*>(&sin6->sin6_addr), 16};
  }
  return {};
}

std::string Address::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  return "<none>";
}

bool Address::operator==(const Address& other) const {
  return length_ == other.length_ && std::memcmp(&storage_, &other.storage_, length_) == 0;
}

}  // namespace ringlb::net
