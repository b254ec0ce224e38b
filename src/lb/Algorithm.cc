#include "ringlb/lb/Algorithm.h"

#include <array>
#include <utility>

namespace ringlb::lb {
namespace {

constexpr std::array<std::pair<std::string_view, Algorithm>, 5> kAlgorithms{{
    {"rendezvous", Algorithm::Rendezvous},
    {"roundrobin", Algorithm::RoundRobin},
    {"leastconn", Algorithm::LeastConn},
    {"random", Algorithm::Random},
    {"first", Algorithm::First},
}};

constexpr std::array<std::pair<std::string_view, HashKey>, 2> kHashKeys{{
    {"source_ip", HashKey::SourceIp},
    {"source_ip_port", HashKey::SourceIpPort},
}};

}  // namespace

std::optional<Algorithm> parseAlgorithm(std::string_view name) {
  for (const auto& [text, value] : kAlgorithms) {
    if (text == name) return value;
  }
  return std::nullopt;
}

std::string_view algorithmName(Algorithm algorithm) {
  for (const auto& [text, value] : kAlgorithms) {
    if (value == algorithm) return text;
  }
  return "?";
}

std::optional<HashKey> parseHashKey(std::string_view name) {
  for (const auto& [text, value] : kHashKeys) {
    if (text == name) return value;
  }
  return std::nullopt;
}

std::string_view hashKeyName(HashKey key) {
  for (const auto& [text, value] : kHashKeys) {
    if (value == key) return text;
  }
  return "?";
}

}  // namespace ringlb::lb
