#pragma once
// The admin socket's command language, apart from the socket: one line in, one reply out.
// Pure of I/O (it reads and changes the server registry and reports through callbacks), so every
// command and every malformed input is unit-tested without sockets.
//
// The protocol (docs/operations.md), in the spirit of HAProxy's runtime API:
//   help
//   show info
//   show servers
//   set server BACKEND/SERVER state active|draining|maintenance
//   set server BACKEND/SERVER weight N          (0..1000; 0: no new connections)
//   shutdown sessions server BACKEND/SERVER     (reset its open connections: HAProxy's form)
//   reload                                      (reread the configuration file and apply it)
// and, for `ringlb --upgrade-from` (a new binary taking over; docs/operations.md), three internal
// commands in HAProxy's spirit (`_getsocks`):
//   _getstate   one line per server: BACKEND/SERVER ADDRESS ADMIN HEALTH WEIGHT FILE_ADMIN FILE_WEIGHT
//               (ADMIN: active|draining|maintenance; HEALTH: up|down|unchecked; the FILE_ ones:
//               what the running configuration file says, to tell runtime changes apart)
//   _getsocks   "ok: N listening sockets", then N lines "CONFIGURED BOUND WORKER", each carrying
//               its listening socket (SCM_RIGHTS) on its first byte
//   _handoff    "ok": this process stops accepting and drains; it exits when its connections
//               are done or shutdown_grace passes
// A reply is zero or more lines, each ending in "\n", then an empty line. Errors are one line
// starting with "error: ". Words are separated by spaces or tabs; a trailing "\r" is ignored
// (telnet, nc -C).
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ringlb/control/ServerRegistry.h"

namespace ringlb::control {

struct AdminInfo {
  std::string version;
  std::chrono::steady_clock::time_point started;
  unsigned workers = 0;
  std::function<uint64_t()> connections;  // sessions open now, all workers
};

class AdminCommands {
 public:
  // `onTransition` carries out a transition's actions (CloseSessions: tell the workers).
  using TransitionHandler = std::function<void(ServerRecord&, const health::Transition&)>;

  // `onWeight` applies a record's new weight: has its backend's balancers rebuilt and handed to
  // the workers, then calls `applied` (later, from the loop). Returns "" or, without calling
  // `applied`, what went wrong.
  using WeightHandler = std::function<std::string(ServerRecord&, std::function<void()> applied)>;

  // `onKill` resets every open connection of a server (tells the workers).
  using KillHandler = std::function<void(ServerRecord&)>;

  // `onReload` rereads the configuration file and applies it, then calls `done` (later, from the
  // loop) with whether it succeeded and its report: the changes, or every error; and the new
  // configuration's warnings.
  using ReloadReport = std::function<void(bool ok, const std::vector<std::string>& lines,
                                          const std::vector<std::string>& warnings)>;
  using ReloadHandler = std::function<void(ReloadReport done)>;

  // The running process's side of a binary upgrade. `sockets` lists every listening socket as
  // (line, descriptor), or returns an error; `handoff` starts the stop (after the reply went
  // out) or returns an error.
  struct UpgradeHandlers {
    std::function<std::string(std::vector<std::pair<std::string, int>>* sockets)> sockets;
    std::function<std::string()> handoff;
  };

  AdminCommands(ServerRegistry& registry, AdminInfo info, TransitionHandler onTransition,
                WeightHandler onWeight = {}, KillHandler onKill = {}, ReloadHandler onReload = {},
                UpgradeHandlers upgrade = {});

  // Receives a command's complete reply, the empty line included.
  using Reply = std::function<void(std::string reply)>;

  // Runs `line` (without its "\n"); `done` gets the reply exactly once. Every command replies
  // before execute() returns except `set server ... weight`, which replies once the workers have
  // been handed the rebuilt balancers, so that "ok" means new connections see the weight, and
  // `reload`, which replies once the reload is applied (or failed).
  // `descriptors`: where a reply's descriptors go, for the server to send with it (only
  // `_getsocks` has any: descriptor i goes with the first byte of the reply's line i + 1, and
  // replies at once). They stay owned by whoever owns them now.
  void execute(std::string_view line, Reply done, std::vector<int>* descriptors = nullptr);

  // The words of a line of the protocol (commands and replies alike): separated by spaces or tabs.
  static std::vector<std::string_view> words(std::string_view line);

  // True if the reply is an error reply (for ringlb ctl's exit status).
  static bool isError(std::string_view reply) { return reply.starts_with("error: "); }

 private:
  std::string help() const;
  std::string showInfo() const;
  std::string showServers() const;
  // Each returns the reply; an empty string means it took `done` and replies later.
  std::string run(std::string_view line, Reply& done, std::vector<int>* descriptors);
  std::string getState() const;
  std::string getSockets(std::vector<int>* descriptors);
  std::string setServer(const std::vector<std::string_view>& words, Reply& done);
  std::string shutdownSessions(std::string_view id);
  std::string reload(Reply& done);
  // The record BACKEND/SERVER names, or nullptr with *reply set to the error reply.
  ServerRecord* findServer(std::string_view id, std::string* reply);

  ServerRegistry& registry_;
  AdminInfo info_;
  TransitionHandler onTransition_;
  WeightHandler onWeight_;
  KillHandler onKill_;
  ReloadHandler onReload_;
  UpgradeHandlers upgrade_;
};

}  // namespace ringlb::control
