#pragma once
// A socket address (IPv4 or IPv6) as a value type. Parsing accepts "1.2.3.4:80" and "[::1]:80";
// toString() gives the same forms back, so a parsed address round-trips.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ringlb::net {

class Address {
 public:
  Address() = default;

  // Parses "host:port" where host is a dotted IPv4 literal or a bracketed IPv6 literal.
  // Host names are deliberately not resolved: a load balancer's config must not depend on DNS
  // at start-up. Returns nullopt and sets *error to a one-line reason on failure.
  static std::optional<Address> parse(std::string_view text, std::string* error = nullptr);
  // Wraps what accept()/getsockname() returned. len must not exceed sizeof(sockaddr_storage).
  static Address fromSockaddr(const sockaddr* sa, socklen_t len);

  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  void setPort(uint16_t port);
  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }
  bool valid() const { return length_ != 0; }

  // The raw IP bytes (4 or 16), used as a stable hashing key for client affinity.
  std::span<const std::uint8_t> ipBytes() const;

  std::string toString() const;
  bool operator==(const Address& other) const;

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

}  // namespace ringlb::net
