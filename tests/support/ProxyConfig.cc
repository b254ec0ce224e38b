#include "support/ProxyConfig.h"

#include <sstream>

namespace ringlb::test {

std::string ProxyConfig::toYaml() const {
  std::ostringstream y;
  y << "global:\n"
    << "  workers: " << workers << "\n"
    << "  max_connections: " << maxConnections << "\n"
    << "  shutdown_grace: " << shutdownGrace << "\n";
  if (buffers != 0) y << "  buffers: " << buffers << "\n";
  if (bufferSize != 0) y << "  buffer_size: " << bufferSize << "\n";
  if (!standingReceive) y << "  standing_receive: false\n";
  y << "defaults:\n"
    << "  timeouts:\n"
    << "    connect: " << connectTimeout << "\n"
    << "    client: " << clientTimeout << "\n"
    << "    server: " << serverTimeout << "\n"
    << "    client_fin: " << (clientFinTimeout.empty() ? finTimeout : clientFinTimeout) << "\n"
    << "    server_fin: " << (serverFinTimeout.empty() ? finTimeout : serverFinTimeout) << "\n"
    << "  retries: " << retries << "\n"
    << "frontends:\n";
  for (const auto& f : frontends) {
    y << "  - name: " << f.name << "\n"
      << "    listen: \"" << f.listen << "\"\n"
      << "    backend: app\n";
    if (f.maxConnections != 0) y << "    max_connections: " << f.maxConnections << "\n";
    if (f.tcpSmartAccept) y << "    tcp_smart_accept: true\n";
    if (f.deferAccept) y << "    defer_accept: true\n";
  }
  y << "backends:\n"
    << "  - name: app\n"
    << "    relay: " << relay << "\n"
    << "    balance: " << balance << "\n"
    << "    retries: " << retries << "\n"
    << "    timeouts: { connect: " << connectTimeout << " }\n";
  if (!healthCheck.empty()) y << "    health_check: " << healthCheck << "\n";
  if (!onMarkedDown.empty()) y << "    on_marked_down: " << onMarkedDown << "\n";
  if (!tcpSmartConnect.empty()) y << "    tcp_smart_connect: " << tcpSmartConnect << "\n";
  y << "    servers:\n";
  for (std::size_t i = 0; i < servers.size(); ++i) {
    const bool named = i < serverNames.size() && !serverNames[i].empty();
    y << "      - { name: " << (named ? serverNames[i] : "s" + std::to_string(i + 1)) << ", address: \""
      << servers[i] << "\"";
    if (i < serverWeights.size() && serverWeights[i] >= 0) y << ", weight: " << serverWeights[i];
    if (i < serverStates.size() && !serverStates[i].empty()) y << ", state: " << serverStates[i];
    if (i < serverBackup.size() && serverBackup[i]) y << ", backup: true";
    y << " }\n";
  }
  if (!adminSocket.empty()) y << "admin: { socket: \"" << adminSocket << "\", mode: \"0600\" }\n";
  if (!metricsListen.empty()) {
    y << "metrics: { listen: \"" << metricsListen << "\"";
    if (!metricsCompat.empty()) y << ", compat: " << metricsCompat;
    y << " }\n";
  }
  if (!accessLogPath.empty()) {
    y << "access_log: { path: \"" << accessLogPath << "\"";
    if (!accessLogFormat.empty()) y << ", format: " << accessLogFormat;
    y << " }\n";
  }
  return y.str();
}

}  // namespace ringlb::test
