#include "ringlb/app/Upgrade.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

#include "ringlb/control/AdminCommands.h"
#include "ringlb/net/FdPassing.h"

namespace ringlb::app {

namespace {

// The lines of a reply's body: up to (not including) the empty line that ends it.
std::vector<std::string_view> bodyLines(std::string_view reply) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t nl = reply.find('\n', start);
    if (nl == std::string_view::npos || nl == start) break;
    out.push_back(reply.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::optional<net::Address> address(std::string_view text, std::string* error) {
  std::string why;
  auto a = net::Address::parse(std::string(text), &why);
  if (!a) *error = "bad address '" + std::string(text) + "': " + why;
  return a;
}

}  // namespace

namespace {

std::optional<health::AdminState> adminState(std::string_view word, std::string* error) {
  if (word == "active") return health::AdminState::Active;
  if (word == "draining") return health::AdminState::Draining;
  if (word == "maintenance") return health::AdminState::Maintenance;
  *error = "unknown admin state '" + std::string(word) + "'";
  return std::nullopt;
}

std::optional<uint32_t> weightOf(std::string_view word, std::string* error) {
  uint32_t weight = 0;
  const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), weight);
  if (ec != std::errc() || end != word.data() + word.size() || weight > 1000) {
    *error = "bad weight '" + std::string(word) + "'";
    return std::nullopt;
  }
  return weight;
}

}  // namespace

std::optional<std::vector<HandedState>> parseStates(std::string_view reply, std::string* error) {
  std::vector<HandedState> out;
  for (std::string_view line : bodyLines(reply)) {
    const auto w = control::AdminCommands::words(line);
    const std::size_t slash = w.empty() ? std::string_view::npos : w[0].find('/');
    if (w.size() != 7 || slash == std::string_view::npos) {
      *error = "malformed state line '" + std::string(line) + "'";
      return std::nullopt;
    }
    HandedState s;
    s.backend = std::string(w[0].substr(0, slash));
    s.server = std::string(w[0].substr(slash + 1));
    const auto a = address(w[1], error);
    if (!a) return std::nullopt;
    s.address = *a;
    const auto admin = adminState(w[2], error);
    if (!admin) return std::nullopt;
    s.admin = *admin;
    if (w[3] == "up") {
      s.health = HandedState::Health::Up;
    } else if (w[3] == "down") {
      s.health = HandedState::Health::Down;
    } else if (w[3] == "unchecked") {
      s.health = HandedState::Health::Unchecked;
    } else {
      *error = "unknown health '" + std::string(w[3]) + "'";
      return std::nullopt;
    }
    const auto weight = weightOf(w[4], error);
    const auto fileAdmin = weight ? adminState(w[5], error) : std::nullopt;
    const auto fileWeight = fileAdmin ? weightOf(w[6], error) : std::nullopt;
    if (!fileWeight) return std::nullopt;
    s.weight = *weight;
    s.fileAdmin = *fileAdmin;
    s.fileWeight = *fileWeight;
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<std::vector<InheritedSocket>> parseSockets(std::string_view reply, const std::vector<int>& fds,
                                                         std::string* error) {
  const auto lines = bodyLines(reply);
  if (lines.empty() || !lines[0].starts_with("ok: ")) {
    *error = lines.empty() ? "empty reply" : std::string(lines[0]);
    return std::nullopt;
  }
  if (lines.size() - 1 != fds.size()) {
    *error = std::to_string(lines.size() - 1) + " sockets listed but " + std::to_string(fds.size()) +
             " received";
    return std::nullopt;
  }
  std::vector<InheritedSocket> out;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto w = control::AdminCommands::words(lines[i]);
    if (w.size() != 3) {
      *error = "malformed socket line '" + std::string(lines[i]) + "'";
      return std::nullopt;
    }
    const auto configured = address(w[0], error);
    const auto bound = configured ? address(w[1], error) : std::nullopt;
    if (!bound) return std::nullopt;
    out.push_back(InheritedSocket{*configured, *bound, fds[i - 1]});
  }
  return out;
}

std::unique_ptr<UpgradeSource> UpgradeSource::connect(const std::string& path, std::string* error, bool* nobody) {
  *nobody = false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *error = "socket path too long: " + path;
    return nullptr;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    *nobody = fd >= 0 && (errno == ENOENT || errno == ECONNREFUSED);
    *error = "cannot reach " + path + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return nullptr;
  }
  std::unique_ptr<UpgradeSource> source(new UpgradeSource(fd));
  std::string reply;
  std::vector<int> fds;
  if (std::string e = source->request("_getstate", &reply, &fds); !e.empty()) {
    for (int d : fds) ::close(d);
    *error = e;
    return nullptr;
  }
  auto states = parseStates(reply, error);
  for (int d : fds) ::close(d);  // none expected
  if (!states) return nullptr;
  source->states_ = std::move(*states);
  // A reload running in the old process makes it refuse for a moment: ask again (5 s at most).
  for (int attempt = 0;; ++attempt) {
    fds.clear();
    std::string e = source->request("_getsocks", &reply, &fds);
    if (e.empty()) break;
    for (int d : fds) ::close(d);
    if (attempt >= 25 || e.find("reload is in progress") == std::string::npos) {
      *error = e;
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto sockets = parseSockets(reply, fds, error);
  if (!sockets) {
    for (int d : fds) ::close(d);
    return nullptr;
  }
  source->sockets_ = std::move(*sockets);
  return source;
}

UpgradeSource::~UpgradeSource() {
  for (const InheritedSocket& s : sockets_) {
    if (s.fd >= 0) ::close(s.fd);
  }
  if (fd_ >= 0) ::close(fd_);
}

std::string UpgradeSource::request(const std::string& command, std::string* reply, std::vector<int>* fds) {
  reply->clear();  // a request that fails leaves none (handOff tells a refusal by it)
  const std::string line = command + "\n";
  if (::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    return command + ": " + std::strerror(errno);
  }
  std::string data = std::move(pending_);
  pending_.clear();
  const int rc = net::receiveWithDescriptors(fd_, "\n\n", std::chrono::seconds(5), &data, fds);
  if (rc < 0) return command + ": no reply (" + std::strerror(-rc) + ")";
  const std::size_t end = data.find("\n\n") + 2;
  *reply = data.substr(0, end);
  pending_ = data.substr(end);
  if (reply->starts_with("error: ")) return command + ": " + reply->substr(0, reply->find('\n'));
  return {};
}

std::string UpgradeSource::handOff(std::chrono::milliseconds timeout, bool* refused) {
  std::string reply;
  std::vector<int> fds;
  std::string e = request("_handoff", &reply, &fds);
  *refused = !e.empty() && reply.starts_with("error: ");
  if (!e.empty()) {
    for (int d : fds) ::close(d);
    return e;
  }
  for (int d : fds) ::close(d);
  // The old process closes this connection once its admin socket and metrics endpoint are
  // released: then ours may take their place.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "the old process did not release its admin socket in time";
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[256];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return {};
  }
}

}  // namespace ringlb::app
