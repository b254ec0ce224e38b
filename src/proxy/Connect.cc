// Connecting to a server, with failover along the balancer's ranking: on refusal or timeout the
// next candidate is tried, up to `retries` more attempts, never the same server twice in a row
// unless it is the only one.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>

#include "ringlb/net/Socket.h"
#include "ringlb/proxy/Worker.h"

namespace ringlb::proxy {

void Worker::connectNext(Session& s, uint32_t slot) {
  const config::Backend& backend = s.snapshot->config->backends[s.backend];
  const BackendRuntime& runtime = s.snapshot->backends[s.backend];
  // With fewer candidates than attempts, cycle: consecutive attempts still differ when there
  // are at least two servers.
  s.server = s.candidates.index[s.attempt % s.candidates.count];
  ++s.attempt;
  const config::Server& server = backend.servers[s.server];
  const int fd = net::createStreamSocket(server.address.family());
  if (fd < 0) {
    // Out of descriptors (or memory): no point trying other servers. The client is closed, and
    // accepting pauses like on an accept EMFILE, so the backlog holds the next clients until
    // sessions free descriptors instead of us accepting and dropping them one by one.
    ++stats_.connectFailures;
    acceptBackoffUntil_ = now_ + kResourceBackoff;
    if (warnAllowed(Warning::Socket)) {
      spdlog::warn("backend '{}': cannot create a socket: {}; pausing accepts for {}ms",
                   backend.name, std::strerror(-fd), kResourceBackoff.count());
    }
    close(s, slot, false);
    return;
  }
  s.serverFd = fd;
  runtime.load->acquire(s.server);
  s.serverCounted = true;
  ring_->connect(fd, server.address.sockaddr_ptr(), server.address.length(),
                 backend.timeouts.connect, tag(Op::Connect, slot), tag(Op::ConnectTimeout, slot));
  s.inflight += 2;
}

void Worker::onConnect(Session& s, uint32_t slot, int result) {
  if (s.state != SessionState::Connecting) {
    maybeFree(s, slot);
    return;
  }
  if (result == 0) {
    startRelay(s, slot);
    return;
  }
  const config::Backend& backend = s.snapshot->config->backends[s.backend];
  ++stats_.connectFailures;
  spdlog::debug("backend '{}': connect to '{}' failed: {}", backend.name,
                backend.servers[s.server].name,
                result == -ECANCELED ? "timeout" : std::strerror(-result));
  ::close(s.serverFd);
  s.serverFd = -1;
  s.snapshot->backends[s.backend].load->release(s.server);
  s.serverCounted = false;
  if (s.attempt <= backend.retries) {
    connectNext(s, slot);
  } else {
    close(s, slot, false);
  }
}

}  // namespace ringlb::proxy
