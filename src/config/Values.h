#pragma once
// Private to config/: readers for one scalar value each (integers, durations, names, addresses,
// choices). A reader checks the node's type and content; on failure it reports exactly one error
// at field.path and returns nullopt, so a key table's store step is "if it read, assign it".
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>

#include "Diagnostics.h"
#include "ringlb/config/Config.h"

namespace ringlb::config::detail {

// One key's value as handed to a reader. `line` is the key's line: yaml-cpp marks an empty value
// on the following line, and the key is where the user looks anyway.
struct Field {
  const YAML::Node& node;
  std::string path;
  int line = 0;
};

inline constexpr uint64_t kUnbounded = UINT64_MAX;

// Decimal integer in [min, max]; no sign, no spaces, no hex.
std::optional<uint64_t> readUnsigned(const Field& field, uint64_t min, uint64_t max,
                                     Diagnostics& diags);

// global.workers: "auto" (returned as 0, meaning one per CPU) or 1..1024.
std::optional<unsigned> readWorkers(const Field& field, Diagnostics& diags);

// global.hash_seed: any unsigned 64-bit value, decimal or 0x-prefixed hex.
std::optional<uint64_t> readHashSeed(const Field& field, Diagnostics& diags);

enum class ZeroDuration { Allowed, Rejected };
std::optional<Duration> readDuration(const Field& field, ZeroDuration zero, Diagnostics& diags);

// A frontend, backend or server name. Returns the text whenever the value is a scalar, even one
// that breaks the naming rule (that is reported), so references to it do not add noise errors.
std::optional<std::string> readName(const Field& field, Diagnostics& diags);

// Any scalar, as text (a backend reference; its existence is checked later).
std::optional<std::string> readText(const Field& field, std::string_view expected,
                                    Diagnostics& diags);

// Listen addresses may use port 0 (the kernel picks one; tests rely on it); servers may not.
enum class AddressUse { Listen, Server };
std::optional<net::Address> readAddress(const Field& field, AddressUse use, Diagnostics& diags);

std::optional<RelayMode> readRelayMode(const Field& field, Diagnostics& diags);
std::optional<lb::Algorithm> readAlgorithm(const Field& field, Diagnostics& diags);
std::optional<lb::HashKey> readHashKey(const Field& field, Diagnostics& diags);

}  // namespace ringlb::config::detail
