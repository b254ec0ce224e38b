#pragma once
// Private to config/: readers for one scalar value each (integers, durations, names, addresses,
// choices). A reader checks the node's type and content; on failure it reports exactly one error
// at field.path and returns nullopt, so a key table's store step is "if it read, assign it".
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

// ---- health checks, server states, admin socket -------------------------------------------------

// `true` or `false`, exactly: YAML 1.1's yes/no/on/off are refused rather than guessed at.
std::optional<bool> readBool(const Field& field, Diagnostics& diags);

std::optional<CheckType> readCheckType(const Field& field, Diagnostics& diags);
std::optional<AdminState> readAdminState(const Field& field, Diagnostics& diags);
std::optional<OnMarkedDown> readOnMarkedDown(const Field& field, Diagnostics& diags);
// health_check.initial: `up` (true) or `down` (false).
std::optional<bool> readInitialUp(const Field& field, Diagnostics& diags);

// http.expect_status: a comma-separated list of status codes and inclusive ranges, "200",
// "200-399", "200,204,300-302" (spaces around items allowed), each code 100..599 and each range
// low <= high. A plain YAML integer (200) is the same text. Never returns an empty list.
std::optional<std::vector<StatusRange>> readStatusRanges(const Field& field, Diagnostics& diags);

// http.method: an HTTP token restricted to 1..16 letters A-Z (GET, HEAD, OPTIONS, ...).
std::optional<std::string> readHttpMethod(const Field& field, Diagnostics& diags);
// http.path: starts with '/', at most 1024 bytes, only printable ASCII other than space, so it
// can be written into a request line as it is.
std::optional<std::string> readHttpPath(const Field& field, Diagnostics& diags);
// http.host: at most 1024 bytes of printable ASCII other than space; may be empty.
std::optional<std::string> readHttpHost(const Field& field, Diagnostics& diags);

// admin.socket: an absolute path that fits sockaddr_un's sun_path with its NUL (at most 107
// bytes), without NUL bytes of its own.
std::optional<std::string> readSocketPath(const Field& field, Diagnostics& diags);
// admin.mode: permission bits in octal, 1 to 4 digits ("0600", "660"), at most 0777.
std::optional<uint32_t> readFileMode(const Field& field, Diagnostics& diags);

// ---- metrics, access log -----------------------------------------------------------------------

std::optional<MetricsCompat> readMetricsCompat(const Field& field, Diagnostics& diags);
std::optional<AccessLogFormat> readAccessLogFormat(const Field& field, Diagnostics& diags);
// access_log.path: "stdout", or an absolute path of at most 4095 bytes (PATH_MAX with its NUL)
// without NUL bytes. Empty is an error: leaving the key out is how the log is turned off.
std::optional<std::string> readAccessLogPath(const Field& field, Diagnostics& diags);

}  // namespace ringlb::config::detail
