#include "ringlb/control/AdminCommands.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>


namespace ringlb::control {

namespace {

std::string error(std::string_view message) {
  return "error: " + std::string(message) + "\n\n";
}

// Quotes operator input in an error: printable, and cut short (a 1 MB word is not echoed back).
std::string quote(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (text.size() > kMax) out += "...";
  return out + "'";
}

std::optional<health::AdminState> parseAdminState(std::string_view word) {
  if (word == "active") return health::AdminState::Active;
  if (word == "draining" || word == "drain") return health::AdminState::Draining;
  if (word == "maintenance" || word == "maint") return health::AdminState::Maintenance;
  return std::nullopt;
}

}  // namespace

std::vector<std::string_view> AdminCommands::words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

AdminCommands::AdminCommands(ServerRegistry& registry, AdminInfo info, TransitionHandler onTransition,
                             WeightHandler onWeight, KillHandler onKill, ReloadHandler onReload,
                             UpgradeHandlers upgrade)
    : registry_(registry), info_(std::move(info)), onTransition_(std::move(onTransition)),
      onWeight_(std::move(onWeight)), onKill_(std::move(onKill)), onReload_(std::move(onReload)),
      upgrade_(std::move(upgrade)) {}

void AdminCommands::execute(std::string_view line, Reply done, std::vector<int>* descriptors) {
  std::string reply = run(line, done, descriptors);
  if (!reply.empty()) done(std::move(reply));
}

std::string AdminCommands::run(std::string_view line, Reply& done, std::vector<int>* descriptors) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::vector<std::string_view> w = words(line);
  if (w.empty()) return error("empty command (try 'help')");
  if (w[0] == "help" && w.size() == 1) return help();
  if (w[0] == "show" && w.size() == 2 && w[1] == "info") return showInfo();
  if (w[0] == "show" && w.size() == 2 && w[1] == "servers") return showServers();
  if (w[0] == "set" && w.size() >= 2 && w[1] == "server") return setServer(w, done);
  if (w[0] == "_getstate" && w.size() == 1) return getState();
  if (w[0] == "_getsocks" && w.size() == 1) return getSockets(descriptors);
  if (w[0] == "_handoff" && w.size() == 1) {
    if (!upgrade_.handoff) return error("this process cannot hand over");
    const std::string failure = upgrade_.handoff();
    return failure.empty() ? "ok: handing over; no longer accepting\n\n" : error(failure);
  }
  if (w[0] == "reload") {
    if (w.size() != 1) return error("usage: reload");
    return reload(done);
  }
  if (w[0] == "shutdown" && w.size() >= 2 && w[1] == "sessions") {
    if (w.size() != 4 || w[2] != "server") return error("usage: shutdown sessions server BACKEND/SERVER");
    return shutdownSessions(w[3]);
  }
  return error("unknown command " + quote(line) + " (try 'help')");
}

std::string AdminCommands::reload(Reply& done) {
  if (!onReload_) return error("this process cannot reload");
  // The reply comes once the workers have the new configuration (or at once for an error).
  onReload_([done = std::move(done)](bool ok, const std::vector<std::string>& lines,
                                     const std::vector<std::string>& warnings) {
    std::string reply = ok ? "ok: configuration reloaded\n"
                           : "error: reload failed; still running the previous configuration\n";
    const auto add = [&reply](std::string_view prefix, const std::string& line) {
      std::string safe = line;
      // One reply ends at its first empty line: a report line never contains a line break.
      for (char& c : safe) c = (c == '\n' || c == '\r') ? ' ' : c;
      reply += "  ";
      reply += prefix;
      reply += safe + "\n";
    };
    for (const std::string& line : lines) add("", line);
    for (const std::string& warning : warnings) add("warning: ", warning);
    done(reply + "\n");
  });
  return {};
}

std::string AdminCommands::getState() const {
  std::string out;
  for (const ServerRecord* r : registry_.ordered()) {
    const char* healthText = !r->state.checked ? "unchecked" : r->state.health == health::Health::Up ? "up" : "down";
    out += r->id() + " " + r->address.toString() + " " + health::toString(r->state.admin) + " " + healthText +
           " " + std::to_string(r->weight) + " " + health::toString(r->fileState) + " " +
           std::to_string(r->fileWeight) + "\n";
  }
  return out + "\n";
}

std::string AdminCommands::getSockets(std::vector<int>* descriptors) {
  if (!upgrade_.sockets || descriptors == nullptr) return error("this process cannot hand over its sockets");
  std::vector<std::pair<std::string, int>> sockets;
  const std::string failure = upgrade_.sockets(&sockets);
  if (!failure.empty()) return error(failure);
  std::string out = "ok: " + std::to_string(sockets.size()) + " listening sockets\n";
  for (const auto& [text, fd] : sockets) {
    out += text + "\n";
    descriptors->push_back(fd);
  }
  return out + "\n";
}

std::string AdminCommands::help() const {
  return "help                                    this list\n"
         "show info                               version, uptime, workers, connections\n"
         "show servers                            every server's state, checks and load\n"
         "set server BACKEND/SERVER state STATE   STATE: active | draining | maintenance\n"
         "set server BACKEND/SERVER weight N      N: 0..1000 (0: no new connections)\n"
         "shutdown sessions server BACKEND/SERVER reset the server's open connections\n"
         "reload                                  reread the configuration file and apply it\n"
         "\n";
}

std::string AdminCommands::showInfo() const {
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::steady_clock::now() - info_.started);
  std::string out;
  out += "version: " + info_.version + "\n";
  out += "uptime_seconds: " + std::to_string(uptime.count()) + "\n";
  out += "workers: " + std::to_string(info_.workers) + "\n";
  out += "connections: " + std::to_string(info_.connections ? info_.connections() : 0) + "\n";
  return out + "\n";
}

std::string AdminCommands::showServers() const {
  // One server per line, space-separated fields (no spaces inside a field), a header first:
  // easy to read and to cut/awk.
  std::string out =
      "# backend/server address admin health last_check check_ms active weight transitions\n";
  for (const ServerRecord* r : registry_.ordered()) {
    std::string healthText = health::toString(r->state, r->params);
    std::replace(healthText.begin(), healthText.end(), ' ', '_');  // "UP 2/3" -> "UP_2/3"
    std::string check = "-";
    std::string latency = "-";
    if (r->lastCheck) {
      check = r->lastCheck->ok ? "ok" : health::toString(r->lastCheck->reason);
      latency = std::to_string(r->lastCheck->latency.count());
    }
    out += r->id() + " " + r->address.toString() + " " + health::toString(r->state.admin) + " " +
           healthText + " " + check + " " + latency + " " +
           std::to_string(r->live->active.load(std::memory_order_relaxed)) + " " +
           std::to_string(registry_.effectiveWeight(*r)) + " " + std::to_string(r->transitions) + "\n";
  }
  return out + "\n";
}

std::string AdminCommands::setServer(const std::vector<std::string_view>& w, Reply& done) {
  // set server BACKEND/SERVER state STATE | set server BACKEND/SERVER weight N
  if (w.size() != 5 || (w[3] != "state" && w[3] != "weight")) {
    return error("usage: set server BACKEND/SERVER state active|draining|maintenance, or "
                 "set server BACKEND/SERVER weight N");
  }
  std::string reply;
  ServerRecord* record = findServer(w[2], &reply);
  if (record == nullptr) return reply;
  if (w[3] == "weight") {
    uint32_t weight = 0;
    const std::string_view n = w[4];
    bool valid = !n.empty() && n.size() <= 4;
    for (char c : n) {
      valid = valid && c >= '0' && c <= '9';
      if (valid) weight = weight * 10 + static_cast<uint32_t>(c - '0');
    }
    if (!valid || weight > 1000) return error("weight must be an integer in 0..1000, got " + quote(n));
    if (!onWeight_) return error("weights cannot be changed in this process");
    const uint32_t old = record->weight;
    record->weight = weight;
    std::string ok = "ok: " + record->id() + " weight " + std::to_string(old) + " -> " +
                     std::to_string(weight) + "\n\n";
    // The handler keeps `applied` until the workers have the weight; should it fail instead,
    // the reply is still ours to give.
    auto later = std::make_shared<Reply>(std::move(done));
    const std::string failed =
        onWeight_(*record, [later, ok = std::move(ok)] { (*later)(ok); });
    if (!failed.empty()) {
      record->weight = old;
      done = std::move(*later);
      return error(failed);
    }
    return {};
  }
  const auto target = parseAdminState(w[4]);
  if (!target) {
    return error("unknown state " + quote(w[4]) + " (active, draining or maintenance)");
  }
  const health::Transition t =
      registry_.apply(*record, health::Event::adminSet(*target), "set by the admin socket");
  if (onTransition_) onTransition_(*record, t);
  return "ok: " + record->id() + " is " + health::toString(record->state.admin) + " (" +
         health::toString(record->state, record->params) + ")\n\n";
}

ServerRecord* AdminCommands::findServer(std::string_view id, std::string* reply) {
  const std::size_t slash = id.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == id.size()) {
    *reply = error("expected BACKEND/SERVER, got " + quote(id));
    return nullptr;
  }
  ServerRecord* record = registry_.find(id.substr(0, slash), id.substr(slash + 1));
  if (record == nullptr) *reply = error("no server " + quote(id));
  return record;
}

std::string AdminCommands::shutdownSessions(std::string_view id) {
  std::string reply;
  ServerRecord* record = findServer(id, &reply);
  if (record == nullptr) return reply;
  if (!onKill_) return error("sessions cannot be shut down in this process");
  const uint64_t open = record->live->active.load(std::memory_order_relaxed);
  onKill_(*record);
  // The workers reset them at their next turn; the count is what was open when asked.
  return "ok: resetting " + std::to_string(open) + " connection(s) of " + record->id() + "\n\n";
}

}  // namespace ringlb::control
