#pragma once
// Names of the balancing algorithms and hash keys, shared by config (parsing) and lb (building).
#include <optional>
#include <string_view>

namespace ringlb::lb {

enum class Algorithm { Rendezvous, RoundRobin, LeastConn, Random, First };
enum class HashKey { SourceIp, SourceIpPort };

// YAML spellings: rendezvous, roundrobin, leastconn, random, first.
std::optional<Algorithm> parseAlgorithm(std::string_view name);
std::string_view algorithmName(Algorithm algorithm);
// YAML spellings: source_ip, source_ip_port.
std::optional<HashKey> parseHashKey(std::string_view name);
std::string_view hashKeyName(HashKey key);

}  // namespace ringlb::lb
