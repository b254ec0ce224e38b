#pragma once
// The new process's side of a binary upgrade (`ringlb -c FILE --upgrade-from ADMIN_SOCKET`),
// HAProxy's `-x` and Envoy's hot restart in spirit: before it starts, the new process asks the
// running one, over its admin socket, for every server's runtime state (`_getstate`) and every
// listening socket it has (`_getsocks`, the descriptors passed with SCM_RIGHTS); it serves on
// those same sockets, so nothing queued in their backlogs is lost; then it tells the old one to
// stop accepting and drain (`_handoff`), and waits until the old one has released its admin
// socket and metrics endpoint (it closes the connection) before opening its own.
//
// The replies' formats are AdminCommands'; the parsers are pure and unit-tested.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringlb/app/Listeners.h"
#include "ringlb/health/ServerState.h"
#include "ringlb/net/Address.h"

namespace ringlb::app {

// One line of `_getstate`.
struct HandedState {
  std::string backend;
  std::string server;
  net::Address address;
  health::AdminState admin = health::AdminState::Active;
  enum class Health : uint8_t { Up, Down, Unchecked } health = Health::Up;
  uint32_t weight = 100;
  // What the old process's configuration file said: the new process keeps a runtime value only
  // where its own file did not change the key (the reload rule, ServerRegistry::reconcile).
  health::AdminState fileAdmin = health::AdminState::Active;
  uint32_t fileWeight = 100;
};

// The body of a `_getstate` reply (the lines before the empty line). nullopt and *error on any
// malformed line.
std::optional<std::vector<HandedState>> parseStates(std::string_view reply, std::string* error);
// The body of a `_getsocks` reply ("ok: N listening sockets", then N lines
// "CONFIGURED BOUND WORKER") with the descriptors that came with it, one per line, in order.
// nullopt and *error when the lines and descriptors do not match.
std::optional<std::vector<InheritedSocket>> parseSockets(std::string_view reply, const std::vector<int>& fds,
                                                         std::string* error);

class UpgradeSource {
 public:
  // Connects to the running process's admin socket and takes its states and sockets (5 s at
  // most). nullptr and *error if it cannot; *nobody is then true when nothing serves that path
  // (no such file, or connection refused: no process to take over from).
  static std::unique_ptr<UpgradeSource> connect(const std::string& path, std::string* error, bool* nobody);
  ~UpgradeSource();  // closes the connection and every handed socket not taken
  UpgradeSource(const UpgradeSource&) = delete;
  UpgradeSource& operator=(const UpgradeSource&) = delete;

  const std::vector<HandedState>& states() const { return states_; }
  // Listeners::plan takes the ones it uses (their fd becomes -1).
  std::vector<InheritedSocket>& sockets() { return sockets_; }

  // Tells the running process to stop accepting and drain, and waits (up to `timeout`) until it
  // closed this connection, which it does after releasing its admin socket and metrics
  // endpoint. "" on success, else what went wrong; *refused is then true when the old process
  // answered with an error (it goes on serving as before), false when it may be stopping.
  std::string handOff(std::chrono::milliseconds timeout, bool* refused);

 private:
  explicit UpgradeSource(int fd) : fd_(fd) {}
  // Sends `command` and reads its reply (up to the empty line), with any descriptors.
  std::string request(const std::string& command, std::string* reply, std::vector<int>* fds);

  int fd_ = -1;
  std::string pending_;  // bytes read past the last reply
  std::vector<HandedState> states_;
  std::vector<InheritedSocket> sockets_;
};

}  // namespace ringlb::app
