#pragma once
// The listening sockets of every frontend address: SO_REUSEPORT sockets, at least one per worker
// per address, so the kernel spreads new connections over the workers with no hand-off between
// threads. A reload computes the next layout from the running one: an address kept across the
// reload keeps its sockets (no moment where connections to it are refused), a new address gets
// new sockets, and a removed one is left out (its workers retire its sockets: proxy::Worker).
// A binary upgrade starts from the sockets the previous process handed over (Inherited): the
// same sockets, so nothing in their accept queues is lost, whatever the two worker counts.
//
// Addresses are matched as configured ("127.0.0.1:0" keeps the port the kernel chose for it;
// two frontends both configured on it keep one each, in order).
// The workers own the descriptors (they close them); a layout only names them, which is safe
// because reloads are serialized: a layout is computed only from the one the workers have.
//
// Threading: control thread only.
#include <string>
#include <vector>

#include "ringlb/config/Config.h"
#include "ringlb/net/Address.h"
#include "ringlb/proxy/Mailbox.h"

namespace ringlb::app {

struct BoundAddress {
  net::Address configured;  // as written (port 0 allowed)
  net::Address bound;       // with the port the first bind got
  uint16_t frontend = 0;    // index in the configuration the layout was made for
  std::vector<int> fds;     // its sockets: one per worker, or more when inherited from a process
                            // that had more workers
  std::vector<unsigned> workers;  // fds[i] belongs to worker workers[i]
};

// A listening socket handed over by the process being upgraded from.
struct InheritedSocket {
  net::Address configured;
  net::Address bound;
  int fd = -1;
};

class Listeners {
 public:
  // The layout for `config` with `workers` workers, reusing `running`'s sockets for the
  // addresses it has and, for the others, `inherited` sockets of the same configured address
  // (taken ones are set to fd -1; the rest are left to the caller). An address with fewer
  // inherited sockets than workers gets new ones beside them; with more, a worker serves several.
  // On failure (a bind that fails) closes what it opened, leaves `running` untouched and returns
  // false with *error naming the frontend and address.
  static bool plan(const config::Config& config, unsigned workers, const Listeners& running,
                   std::vector<InheritedSocket>* inherited, Listeners* out, std::string* error);

  // Sets each listening socket's per-frontend options from `config` (the one plan() was given):
  // tcp_smart_accept, defer_accept. Kept sockets take a reload's new values; inherited ones the
  // new process's. Best effort: an option the kernel refuses only costs what it would have saved
  // (a segment, a wake-up); connections are accepted and relayed either way.
  void applySocketOptions(const config::Config& config) const;

  // Worker `w`'s listener set (for proxy::Worker's constructor or UseSnapshot::listeners).
  std::vector<proxy::ListenerSocket> forWorker(unsigned w) const;
  const std::vector<BoundAddress>& addresses() const { return addresses_; }
  // Addresses of `running` that this layout does not keep.
  std::vector<net::Address> removedFrom(const Listeners& running) const;
  // Addresses of this layout that `running` does not have.
  std::vector<const BoundAddress*> addedTo(const Listeners& running) const;

 private:
  // The address whose sockets are `fds` (the same sockets: kept by a reload).
  const BoundAddress* find(const std::vector<int>& fds) const;

  std::vector<BoundAddress> addresses_;
};

}  // namespace ringlb::app
