#include "ringlb/app/Listeners.h"

#include <unistd.h>

#include <cstring>

#include "ringlb/net/Socket.h"

namespace ringlb::app {

const BoundAddress* Listeners::find(const std::vector<int>& fds) const {
  for (const BoundAddress& a : addresses_) {
    if (a.fds == fds) return &a;
  }
  return nullptr;
}

bool Listeners::plan(const config::Config& config, unsigned workers, const Listeners& running,
                     Listeners* out, std::string* error) {
  Listeners next;
  std::vector<int> opened;
  // Each running socket set is kept at most once: two frontends may both be configured on
  // "127.0.0.1:0" (two ports the kernel picks), and they keep one each.
  std::vector<bool> taken(running.addresses_.size(), false);
  for (std::size_t f = 0; f < config.frontends.size(); ++f) {
    const config::Frontend& frontend = config.frontends[f];
    for (const net::Address& configured : frontend.listen) {
      std::size_t k = 0;
      while (k < running.addresses_.size() &&
             (taken[k] || !(running.addresses_[k].configured == configured) ||
              running.addresses_[k].fds.size() != workers)) {
        ++k;
      }
      if (k < running.addresses_.size()) {
        taken[k] = true;
        BoundAddress same = running.addresses_[k];
        same.frontend = static_cast<uint16_t>(f);
        next.addresses_.push_back(std::move(same));
        continue;
      }
      BoundAddress fresh{configured, configured, static_cast<uint16_t>(f), {}};
      for (unsigned w = 0; w < workers; ++w) {
        // A port 0 is resolved by the first bind and reused for the other workers' sockets.
        const int fd = net::createListener(fresh.bound, SOMAXCONN);
        if (fd < 0) {
          for (int o : opened) ::close(o);
          *error = "frontend '" + frontend.name + "': cannot listen on " + fresh.bound.toString() +
                   ": " + std::strerror(-fd);
          return false;
        }
        opened.push_back(fd);
        if (w == 0) fresh.bound = net::localAddress(fd);
        fresh.fds.push_back(fd);
      }
      next.addresses_.push_back(std::move(fresh));
    }
  }
  *out = std::move(next);
  return true;
}

std::vector<proxy::ListenerSocket> Listeners::forWorker(unsigned w) const {
  std::vector<proxy::ListenerSocket> out;
  for (const BoundAddress& a : addresses_) out.push_back(proxy::ListenerSocket{a.fds[w], a.frontend});
  return out;
}

std::vector<net::Address> Listeners::removedFrom(const Listeners& running) const {
  std::vector<net::Address> out;
  for (const BoundAddress& a : running.addresses_) {
    if (find(a.fds) == nullptr) out.push_back(a.bound);
  }
  return out;
}

std::vector<const BoundAddress*> Listeners::addedTo(const Listeners& running) const {
  std::vector<const BoundAddress*> out;
  for (const BoundAddress& a : addresses_) {
    if (running.find(a.fds) == nullptr) out.push_back(&a);
  }
  return out;
}

}  // namespace ringlb::app
