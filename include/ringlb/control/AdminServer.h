#pragma once
// The admin socket: a unix stream socket speaking AdminCommands' line protocol, served on the
// control thread's event loop. Nothing a client does can block the loop or hurt other clients:
// sockets are non-blocking, a line longer than kMaxLine gets an error and the connection is
// closed, a client silent for kIdleTimeout is closed, one that does not read its replies is
// closed once kMaxPendingOutput is queued, and at most kMaxClients are served at once (further
// ones get an error line and are closed).
//
// Replies go out in command order. A command whose reply comes later (`set server ... weight`
// waits for the rebuilt balancers) holds the client's further lines until it has replied; a
// client that half-closes after its commands still gets every reply.
#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "ringlb/config/Config.h"
#include "ringlb/control/AdminCommands.h"
#include "ringlb/io/EventLoop.h"

namespace ringlb::control {

class AdminServer {
 public:
  static constexpr std::size_t kMaxLine = 4096;
  static constexpr std::size_t kMaxClients = 32;
  static constexpr std::size_t kMaxPendingOutput = 1 << 20;
  static constexpr std::chrono::milliseconds kIdleTimeout{60000};

  // Listens on admin.socket with admin.mode. A stale socket file (nothing accepting on it) is
  // replaced; a live one (another ringlb?) or a file that is not a socket is an error.
  static std::unique_ptr<AdminServer> open(io::EventLoop& loop, const config::Admin& admin,
                                           AdminCommands& commands, std::string* error);
  ~AdminServer();  // closes every client and the listener, and removes the socket file
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

 private:
  struct Client {
    std::string in;   // bytes received, not yet a complete line
    std::string out;  // replies not yet written
    // Descriptors to send with the byte of `out` at each offset (a `_getsocks` reply), in order:
    // copies this server owns until they are sent (or the client is dropped).
    std::deque<std::pair<std::size_t, int>> attachments;
    io::EventLoop::TimerId idle = 0;
    uint64_t id = 0;       // unique for the process's life (descriptors are reused)
    bool closing = false;  // close once `out` is written and no reply is awaited
    bool waiting = false;  // a command's reply is awaited; later lines wait for it
    bool resumeOnReply = false;  // the awaited reply comes after execute() returned
  };

  AdminServer(io::EventLoop& loop, AdminCommands& commands) : loop_(loop), commands_(commands) {}
  void onAccept();
  void onClient(int fd, uint32_t events);
  void readFrom(int fd, Client& client);
  // Runs the complete lines received, in order, until one's reply is awaited; then flushes.
  void processLines(int fd, Client& client);
  AdminCommands::Reply replyTo(int fd, uint64_t id);
  void flush(int fd, Client& client);
  void armIdle(int fd, Client& client);
  void drop(int fd);

  io::EventLoop& loop_;
  AdminCommands& commands_;
  std::string path_;
  int listener_ = -1;
  std::map<int, Client> clients_;
  uint64_t nextClientId_ = 1;
  // Replies that arrive after this server is gone find the token expired and are dropped.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace ringlb::control
