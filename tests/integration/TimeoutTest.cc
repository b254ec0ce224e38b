// The inactivity timeouts, with HAProxy's meanings: `client` and `server` per side (any byte to
// or from that side refreshes it), `client_fin` and `server_fin` in their place once that side is
// half-closed. Each fires on its own (the others are set long), no earlier than it should, and a
// stream it cuts ends in a reset at the peer, never in a clean EOF that would pass a truncated
// stream off as complete. Activity keeps a connection open indefinitely.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "support/Client.h"
#include "support/FaultTools.h"
#include "support/ProxyConfig.h"
#include "support/RingLbProcess.h"
#include "support/TestBackend.h"

namespace ringlb::test {
namespace {

// Every timeout long (60 s): a test shortens the one it is about.
ProxyConfig longTimeouts(const std::string& server) {
  ProxyConfig cfg;
  cfg.clientTimeout = "60s";
  cfg.serverTimeout = "60s";
  cfg.finTimeout = "60s";
  cfg.servers = {server};
  return cfg;
}

long long msSince(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

void info(const char* what, long long ms) {
  std::printf("[   INFO   ] %s after %lld ms\n", what, ms);
}

// Lower bounds below are measured from a moment before the proxy's last activity on the
// connection (before our last send, or before the connect), so they hold however late the
// proxy's own clock reads: a close this early can only mean the timeout was cut short.
constexpr long long kShortTimeoutMs = 400;
constexpr long long kLowerBoundMs = 350;

// With one side's idle timeout 400ms (all else 60s), a connection idle after one echo round
// trip is ended by the proxy, not before 400 ms of idleness, and both peers see a reset: neither
// stream had ended. `side` names the timeout that is short ("client" or "server").
void expectIdleConnectionReset(const std::string& side) {
  TestBackend backend({.mode = BackendMode::Echo});
  ProxyConfig cfg = longTimeouts(backend.address());
  (side == "client" ? cfg.clientTimeout : cfg.serverTimeout) =
      std::to_string(kShortTimeoutMs) + "ms";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  const auto lastExchange = Clock::now();
  ASSERT_TRUE(sendAll(c.fd.get(), "ping", Deadline(5s)));
  ASSERT_EQ(recvExact(c.fd.get(), 4, Deadline(5s)), "ping") << "no echo: not connected through";

  const ReadResult r = readUntilEnd(c.fd.get(), Deadline(10s));
  const long long idleMs = msSince(lastExchange);
  info("the idle connection ended", idleMs);
  ASSERT_NE(r.end, StreamEnd::Timeout)
      << "still open after 10 s idle: the " << side << " timeout never fired";
  EXPECT_GE(idleMs, kLowerBoundMs) << "closed before the " << side << " timeout could have expired";
  EXPECT_EQ(r.end, StreamEnd::Reset)
      << "a timeout cut the backend's stream: the client must see a reset, not " << toString(r.end);
  EXPECT_EQ(r.data, "");

  auto rec = backend.waitFinished(0, Deadline(5s));
  ASSERT_TRUE(rec.has_value()) << "the backend's connection stayed open after the client's ended";
  EXPECT_EQ(rec->readEnd, StreamEnd::Reset)
      << "a timeout cut the client's stream: the backend must see a reset, not "
      << toString(rec->readEnd);
}

// `client` 400ms: the idle connection is reset at both peers, not before 400 ms.
TEST(TimeoutTest, ClientTimeoutClosesIdleConnection) { expectIdleConnectionReset("client"); }

// `server` 400ms: the same.
TEST(TimeoutTest, ServerTimeoutClosesIdleConnection) { expectIdleConnectionReset("server"); }

// With `client_fin` 400ms (client, server, server_fin 60s): once the client has sent its request
// and FIN, a backend that never answers nor closes is cut off within seconds, not before 400 ms;
// the client, whose response stream was cut, sees a reset, and the backend's socket is closed.
TEST(TimeoutTest, ClientFinTimeoutAppliesAfterClientHalfCloses) {
  ManualBackend backend;
  ASSERT_NE(backend.port(), 0);
  ProxyConfig cfg = longTimeouts(backend.address());
  cfg.clientFinTimeout = std::to_string(kShortTimeoutMs) + "ms";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  const auto start = Clock::now();
  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  ASSERT_TRUE(sendAll(c.fd.get(), "request", Deadline(5s)));
  shutdownWrite(c.fd.get());
  Fd server = backend.accept(Deadline(5s));
  ASSERT_TRUE(server) << "the proxy never connected to the backend";
  const ReadResult request = readUntilEnd(server.get(), Deadline(5s));
  ASSERT_EQ(request.end, StreamEnd::Eof) << "the client's FIN must reach the backend";
  EXPECT_EQ(request.data, "request");
  // The backend now answers nothing and keeps its socket open.

  const ReadResult r = readUntilEnd(c.fd.get(), Deadline(10s));
  const long long ms = msSince(start);
  info("the half-closed connection ended", ms);
  ASSERT_NE(r.end, StreamEnd::Timeout)
      << "still open 10 s after the client's FIN: client_fin never fired";
  EXPECT_GE(ms, kLowerBoundMs) << "closed before client_fin could have expired";
  EXPECT_EQ(r.end, StreamEnd::Reset)
      << "the backend never ended its stream: the client must see a reset, not " << toString(r.end);
  EXPECT_EQ(r.data, "");
  EXPECT_EQ(writeUntilRefused(server.get(), Deadline(5s)), StreamEnd::Reset)
      << "the backend's connection still takes bytes after the proxy ended the session";
}

// With `server_fin` 400ms (client, server, client_fin 60s): once the backend has sent its
// greeting and FIN (still reading), a client that reads it and then stays silent without closing
// is cut off within seconds, not before 400 ms; the backend, whose inbound stream was cut, sees
// a reset, and the client's socket is closed.
TEST(TimeoutTest, ServerFinTimeoutAppliesAfterServerHalfCloses) {
  ManualBackend backend;
  ASSERT_NE(backend.port(), 0);
  ProxyConfig cfg = longTimeouts(backend.address());
  cfg.serverFinTimeout = std::to_string(kShortTimeoutMs) + "ms";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  const auto start = Clock::now();
  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  Fd server = backend.accept(Deadline(5s));
  ASSERT_TRUE(server) << "the proxy never connected to the backend";
  ASSERT_TRUE(sendAll(server.get(), "greeting", Deadline(5s)));
  shutdownWrite(server.get());
  const ReadResult greeting = readUntilEnd(c.fd.get(), Deadline(5s));
  ASSERT_EQ(greeting.end, StreamEnd::Eof) << "the backend's FIN must reach the client";
  EXPECT_EQ(greeting.data, "greeting");
  // The client now stays silent without closing; the backend keeps reading.

  const ReadResult r = readUntilEnd(server.get(), Deadline(10s));
  const long long ms = msSince(start);
  info("the half-closed connection ended", ms);
  ASSERT_NE(r.end, StreamEnd::Timeout)
      << "still open 10 s after the backend's FIN: server_fin never fired";
  EXPECT_GE(ms, kLowerBoundMs) << "closed before server_fin could have expired";
  EXPECT_EQ(r.end, StreamEnd::Reset)
      << "the client never ended its stream: the backend must see a reset, not " << toString(r.end);
  EXPECT_EQ(r.data, "");
  EXPECT_EQ(writeUntilRefused(c.fd.get(), Deadline(5s)), StreamEnd::Reset)
      << "the client's connection still takes bytes after the proxy ended the session";
}

// With `client` and `server` 500ms, a conversation of small echoed messages every 100 ms for 2 s
// (four timeouts long) completes intact and ends with a clean EOF: activity refreshes both.
TEST(TimeoutTest, ActivityKeepsConnectionOpenPastTimeout) {
  TestBackend backend({.mode = BackendMode::Echo});
  ProxyConfig cfg = longTimeouts(backend.address());
  cfg.clientTimeout = "500ms";
  cfg.serverTimeout = "500ms";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  const auto start = Clock::now();
  std::uint64_t total = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string message = "message " + std::to_string(100 + i);
    ASSERT_TRUE(sendAll(c.fd.get(), message, Deadline(5s)))
        << "message " << i << " could not be sent, " << msSince(start) << " ms in";
    ASSERT_EQ(recvExact(c.fd.get(), message.size(), Deadline(5s)), message)
        << "message " << i << " was not echoed, " << msSince(start) << " ms in";
    total += message.size();
    std::this_thread::sleep_for(100ms);
  }
  shutdownWrite(c.fd.get());
  const ReadResult r = readUntilEnd(c.fd.get(), Deadline(5s));
  EXPECT_EQ(r.end, StreamEnd::Eof) << "the conversation must end cleanly";
  EXPECT_EQ(r.data, "");

  auto rec = backend.waitFinished(0, Deadline(5s));
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->readEnd, StreamEnd::Eof);
  EXPECT_EQ(rec->bytesReceived, total);
}

// One-way traffic refreshes both sides too. The gap between messages (700 ms) is well under the
// timeouts (1200 ms) but more than half of them: a proxy that stamped a message with the time it
// last looked at its clock before the message arrived, rather than with the time it arrived,
// would let the timeout fire in the gap.
constexpr auto kTrickleGap = 700ms;
constexpr int kTrickleMessages = 4;

// With `client` and `server` 1200ms, a client sending one small message every 700 ms while the
// backend sends nothing keeps the connection open: bytes from the client refresh the client side,
// bytes to the backend the server side.
TEST(TimeoutTest, ClientTrickleKeepsConnectionOpen) {
  ManualBackend backend;
  ASSERT_NE(backend.port(), 0);
  ProxyConfig cfg = longTimeouts(backend.address());
  cfg.clientTimeout = "1200ms";
  cfg.serverTimeout = "1200ms";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  Fd server = backend.accept(Deadline(5s));
  ASSERT_TRUE(server) << "the proxy never connected to the backend";
  const auto start = Clock::now();
  for (int i = 0; i < kTrickleMessages; ++i) {
    std::this_thread::sleep_for(kTrickleGap);
    ASSERT_TRUE(sendAll(c.fd.get(), "tick", Deadline(5s)))
        << "tick " << i << " could not be sent, " << msSince(start) << " ms in";
    ASSERT_EQ(recvExact(server.get(), 4, Deadline(5s)), "tick")
        << "tick " << i << " never reached the backend, " << msSince(start)
        << " ms in: the connection was cut although a tick came every " << kTrickleGap.count()
        << " ms";
  }
  ASSERT_TRUE(sendAll(server.get(), "done", Deadline(5s)));
  EXPECT_EQ(recvExact(c.fd.get(), 4, Deadline(5s)), "done")
      << "the connection did not survive the trickle";
}

// The mirror image: a backend sending one small message every 700 ms to a client that sends
// nothing keeps the connection open.
TEST(TimeoutTest, ServerTrickleKeepsConnectionOpen) {
  ManualBackend backend;
  ASSERT_NE(backend.port(), 0);
  ProxyConfig cfg = longTimeouts(backend.address());
  cfg.clientTimeout = "1200ms";
  cfg.serverTimeout = "1200ms";
  RingLbProcess proxy(RINGLB_BINARY);
  ASSERT_TRUE(proxy.start(cfg.toYaml()));

  ConnectResult c = connectLocal(proxy.port());
  ASSERT_TRUE(c.fd) << std::strerror(c.error);
  Fd server = backend.accept(Deadline(5s));
  ASSERT_TRUE(server) << "the proxy never connected to the backend";
  const auto start = Clock::now();
  for (int i = 0; i < kTrickleMessages; ++i) {
    std::this_thread::sleep_for(kTrickleGap);
    ASSERT_TRUE(sendAll(server.get(), "tick", Deadline(5s)))
        << "tick " << i << " could not be sent, " << msSince(start) << " ms in";
    ASSERT_EQ(recvExact(c.fd.get(), 4, Deadline(5s)), "tick")
        << "tick " << i << " never reached the client, " << msSince(start)
        << " ms in: the connection was cut although a tick came every " << kTrickleGap.count()
        << " ms";
  }
  ASSERT_TRUE(sendAll(c.fd.get(), "done", Deadline(5s)));
  EXPECT_EQ(recvExact(server.get(), 4, Deadline(5s)), "done")
      << "the connection did not survive the trickle";
}

}  // namespace
}  // namespace ringlb::test
