#include "ringlb/app/Listeners.h"

#include <unistd.h>

#include <cstring>

#include <spdlog/spdlog.h>

#include "ringlb/net/Socket.h"

namespace ringlb::app {

const BoundAddress* Listeners::find(const std::vector<int>& fds) const {
  for (const BoundAddress& a : addresses_) {
    if (a.fds == fds) return &a;
  }
  return nullptr;
}

bool Listeners::plan(const config::Config& config, unsigned workers, const Listeners& running,
                     std::vector<InheritedSocket>* inherited, Listeners* out, std::string* error) {
  Listeners next;
  std::vector<int> opened;
  // Each running socket set is kept at most once: two frontends may both be configured on
  // "127.0.0.1:0" (two ports the kernel picks), and they keep one each.
  std::vector<bool> taken(running.addresses_.size(), false);
  std::vector<std::pair<std::size_t, int>> took;  // inherited sockets used: (index, fd)
  for (std::size_t f = 0; f < config.frontends.size(); ++f) {
    const config::Frontend& frontend = config.frontends[f];
    for (const net::Address& configured : frontend.listen) {
      std::size_t k = 0;
      while (k < running.addresses_.size() &&
             (taken[k] || !(running.addresses_[k].configured == configured))) {
        ++k;
      }
      if (k < running.addresses_.size()) {
        taken[k] = true;
        BoundAddress same = running.addresses_[k];
        same.frontend = static_cast<uint16_t>(f);
        next.addresses_.push_back(std::move(same));
        continue;
      }
      BoundAddress fresh{configured, configured, static_cast<uint16_t>(f), {}, {}};
      if (inherited != nullptr) {
        // The first handed-over address configured the same way, with all its sockets.
        for (std::size_t i = 0; i < inherited->size(); ++i) {
          InheritedSocket& s = (*inherited)[i];
          if (s.fd < 0 || !(s.configured == configured)) continue;
          if (!fresh.fds.empty() && !(s.bound == fresh.bound)) continue;
          fresh.bound = s.bound;
          fresh.workers.push_back(static_cast<unsigned>(fresh.fds.size()) % workers);
          fresh.fds.push_back(s.fd);
          took.emplace_back(i, s.fd);
          s.fd = -1;
        }
      }
      for (unsigned w = static_cast<unsigned>(fresh.fds.size()); w < workers; ++w) {
        // A port 0 is resolved by the first bind and reused for the other workers' sockets.
        const int fd = net::createListener(fresh.bound, SOMAXCONN);
        if (fd < 0) {
          for (int o : opened) ::close(o);
          for (const auto& [index, d] : took) (*inherited)[index].fd = d;  // back to the caller
          *error = "frontend '" + frontend.name + "': cannot listen on " + fresh.bound.toString() +
                   ": " + std::strerror(-fd);
          return false;
        }
        opened.push_back(fd);
        if (w == 0) fresh.bound = net::localAddress(fd);
        fresh.fds.push_back(fd);
        fresh.workers.push_back(w);
      }
      next.addresses_.push_back(std::move(fresh));
    }
  }
  *out = std::move(next);
  return true;
}

void Listeners::applySocketOptions(const config::Config& config) const {
  for (const BoundAddress& a : addresses_) {
    const config::Frontend& fe = config.frontends[a.frontend];
    int smartAccept = 0;  // the last refusal per option, if any: one warning per address
    int deferAccept = 0;
    for (const int fd : a.fds) {
      if (const int e = net::setSmartAccept(fd, fe.tcpSmartAccept); e < 0) smartAccept = e;
      if (const int e = net::setDeferAccept(fd, fe.deferAccept); e < 0) deferAccept = e;
    }
    // The connections are served either way: a warning, not an error.
    const auto warnRefused = [&](const char* option, int e) {
      if (e < 0) {
        spdlog::warn("frontend '{}' on {}: {} not applied: {}", fe.name, a.bound.toString(), option,
                     std::strerror(-e));
      }
    };
    warnRefused("tcp_smart_accept", smartAccept);
    warnRefused("defer_accept", deferAccept);
  }
}

std::vector<proxy::ListenerSocket> Listeners::forWorker(unsigned w) const {
  std::vector<proxy::ListenerSocket> out;
  for (const BoundAddress& a : addresses_) {
    for (std::size_t i = 0; i < a.fds.size(); ++i) {
      if (a.workers[i] == w) out.push_back(proxy::ListenerSocket{a.fds[i], a.frontend});
    }
  }
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
