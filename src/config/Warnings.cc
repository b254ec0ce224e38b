// Settings that load but do nothing as written: worth a line in the log, never a refusal (the
// document is valid, and an operator may be staging a change across two reloads).
#include <string>
#include <vector>

#include "Diagnostics.h"
#include "Stages.h"

namespace ringlb::config::detail {

std::vector<ConfigError> ineffectiveSettings(const Config& config) {
  std::vector<ConfigError> warnings;
  // tcp_smart_connect holds the server's handshake ACK only for connections whose frontend
  // defers accept (proxy/Connect.cc, holdsHandshakeAck): one warning per frontend that sends
  // this backend connections it will not apply to.
  for (std::size_t b = 0; b < config.backends.size(); ++b) {
    const Backend& backend = config.backends[b];
    if (!backend.tcpSmartConnect) continue;
    for (const Frontend& frontend : config.frontends) {
      if (frontend.backendIndex != b || frontend.deferAccept) continue;
      warnings.push_back(ConfigError{
          keyPath(indexPath("backends", b), "tcp_smart_connect"),
          "no effect on connections from frontend '" + frontend.name + "' (line " +
              std::to_string(frontend.line) +
              "), which does not set defer_accept: the ACK is held only where the client's "
              "request is known to be waiting",
          backend.line});
    }
  }
  return warnings;
}

}  // namespace ringlb::config::detail
