// A tiny HTTP/1.1 server for the demo: answers every request on 127.0.0.1:PORT with
// "hello from NAME", keeping connections alive. One thread per connection: it is a demo
// backend, not part of the proxy.
//   ringlb-demo-backend PORT NAME
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

void serve(int fd, const std::string& name) {
  std::string pending;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t end;
    while ((end = pending.find("\r\n\r\n")) != std::string::npos) {
      const bool close = pending.substr(0, end).find("Connection: close") != std::string::npos;
      pending.erase(0, end + 4);
      const std::string body = "hello from " + name + "\n";
      const std::string reply = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                                std::to_string(body.size()) +
                                (close ? "\r\nConnection: close" : "") + "\r\n\r\n" + body;
      if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) < 0 || close) {
        ::close(fd);
        return;
      }
    }
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s PORT NAME\n", argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  const int port = std::atoi(argv[1]);
  const std::string name = argv[2];
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 1024) != 0) {
    std::fprintf(stderr, "demo-backend %s: cannot listen on 127.0.0.1:%d: %s\n", name.c_str(), port,
                 std::strerror(errno));
    return 1;
  }
  for (;;) {
    const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::thread(serve, fd, name).detach();
  }
}
