// The binary upgrade's wire formats (app/Upgrade.h) and descriptor passing (net/FdPassing.h):
// what the new process reads from the old one's `_getstate` and `_getsocks` replies, every
// malformed form refused, and descriptors arriving in the order they were sent.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "ringlb/app/Upgrade.h"
#include "ringlb/net/FdPassing.h"

namespace ringlb::app {
namespace {

TEST(UpgradeHandoffTest, ParsesServerStates) {
  std::string error;
  const auto states = parseStates("app/s1 10.0.0.1:80 active up 100 active 100\n"
                                  "app/s2 [::1]:8080 draining down 40 active 50\n"
                                  "db/d1 10.0.1.1:5432 maintenance unchecked 0 maintenance 0\n\n",
                                  &error);
  ASSERT_TRUE(states) << error;
  ASSERT_EQ(states->size(), 3u);
  EXPECT_EQ((*states)[0].backend, "app");
  EXPECT_EQ((*states)[0].server, "s1");
  EXPECT_EQ((*states)[0].address.toString(), "10.0.0.1:80");
  EXPECT_EQ((*states)[0].admin, health::AdminState::Active);
  EXPECT_EQ((*states)[0].health, HandedState::Health::Up);
  EXPECT_EQ((*states)[1].address.toString(), "[::1]:8080");
  EXPECT_EQ((*states)[1].admin, health::AdminState::Draining);
  EXPECT_EQ((*states)[1].health, HandedState::Health::Down);
  EXPECT_EQ((*states)[1].weight, 40u);
  EXPECT_EQ((*states)[1].fileAdmin, health::AdminState::Active);
  EXPECT_EQ((*states)[1].fileWeight, 50u);
  EXPECT_EQ((*states)[2].admin, health::AdminState::Maintenance);
  EXPECT_EQ((*states)[2].health, HandedState::Health::Unchecked);
  EXPECT_EQ((*states)[2].weight, 0u);
}

TEST(UpgradeHandoffTest, RefusesMalformedStateLines) {
  for (const char* bad : {"app-s1 10.0.0.1:80 active up 100 active 100\n\n",
                          "app/s1 10.0.0.1 active up 100 active 100\n\n",
                          "app/s1 10.0.0.1:80 paused up 100 active 100\n\n",
                          "app/s1 10.0.0.1:80 active sideways 100 active 100\n\n",
                          "app/s1 10.0.0.1:80 active up 1001 active 100\n\n",
                          "app/s1 10.0.0.1:80 active up 1x active 100\n\n",
                          "app/s1 10.0.0.1:80 active up 100 paused 100\n\n",
                          "app/s1 10.0.0.1:80 active up 100 active 2000\n\n",
                          "app/s1 10.0.0.1:80 active up 100\n\n", "error: nope\n\n"}) {
    std::string error;
    EXPECT_FALSE(parseStates(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(UpgradeHandoffTest, ParsesSocketsWithTheirDescriptorsInOrder) {
  std::string error;
  const auto sockets = parseSockets("ok: 3 listening sockets\n"
                                    "127.0.0.1:0 127.0.0.1:4321 0\n"
                                    "127.0.0.1:0 127.0.0.1:4321 1\n"
                                    "[::1]:80 [::1]:80 0\n\n",
                                    {7, 8, 9}, &error);
  ASSERT_TRUE(sockets) << error;
  ASSERT_EQ(sockets->size(), 3u);
  EXPECT_EQ((*sockets)[0].configured.toString(), "127.0.0.1:0");
  EXPECT_EQ((*sockets)[0].bound.toString(), "127.0.0.1:4321");
  EXPECT_EQ((*sockets)[0].fd, 7);
  EXPECT_EQ((*sockets)[1].fd, 8);
  EXPECT_EQ((*sockets)[2].bound.toString(), "[::1]:80");
  EXPECT_EQ((*sockets)[2].fd, 9);
}

TEST(UpgradeHandoffTest, RefusesSocketListsThatDoNotMatchTheirDescriptors) {
  std::string error;
  EXPECT_FALSE(parseSockets("ok: 2 listening sockets\n127.0.0.1:1 127.0.0.1:1 0\n127.0.0.1:2 127.0.0.1:2 0\n\n",
                            {5}, &error));
  EXPECT_NE(error.find("2 sockets listed but 1 received"), std::string::npos) << error;
  EXPECT_FALSE(parseSockets("error: a reload is in progress; try again\n\n", {}, &error));
  EXPECT_NE(error.find("reload is in progress"), std::string::npos) << error;
  EXPECT_FALSE(parseSockets("ok: 1 listening sockets\n127.0.0.1:1 0\n\n", {5}, &error));
  EXPECT_FALSE(parseSockets("ok: 1 listening sockets\nnot-an-address 127.0.0.1:1 0\n\n", {5}, &error));
}

// Each byte run sent with a descriptor delivers it, in order, and the text arrives whole.
TEST(UpgradeHandoffTest, DescriptorsTravelWithTheirLines) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  // Three distinct open files to pass: pipes' read ends.
  int pipes[3][2];
  for (auto& p : pipes) ASSERT_EQ(::pipe(p), 0);
  const std::string lines[] = {"ok: 3\n", "a\n", "b\n", "c\n\n"};
  ASSERT_EQ(::send(pair[0], lines[0].data(), lines[0].size(), 0), static_cast<ssize_t>(lines[0].size()));
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(net::sendWithDescriptor(pair[0], lines[i + 1], pipes[i][0]), static_cast<ssize_t>(lines[i + 1].size()));
  }
  std::string data;
  std::vector<int> fds;
  ASSERT_EQ(net::receiveWithDescriptors(pair[1], "\n\n", std::chrono::seconds(5), &data, &fds), 0);
  EXPECT_EQ(data, "ok: 3\na\nb\nc\n\n");
  ASSERT_EQ(fds.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    struct stat received {}, original {};
    ASSERT_EQ(::fstat(fds[static_cast<std::size_t>(i)], &received), 0);
    ASSERT_EQ(::fstat(pipes[i][0], &original), 0);
    EXPECT_EQ(received.st_ino, original.st_ino) << "descriptor " << i << " out of order";
    ::close(fds[static_cast<std::size_t>(i)]);
  }
  for (auto& p : pipes) {
    ::close(p[0]);
    ::close(p[1]);
  }
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST(UpgradeHandoffTest, ReceiveStopsAtThePeersCloseAndAtTheDeadline) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  std::string data;
  std::vector<int> fds;
  EXPECT_EQ(net::receiveWithDescriptors(pair[1], "\n\n", std::chrono::milliseconds(50), &data, &fds), -ETIMEDOUT);
  ASSERT_EQ(::send(pair[0], "partial\n", 8, 0), 8);
  ::close(pair[0]);
  EXPECT_EQ(net::receiveWithDescriptors(pair[1], "\n\n", std::chrono::seconds(5), &data, &fds), -ECONNRESET);
  EXPECT_EQ(data, "partial\n");
  ::close(pair[1]);
}

}  // namespace
}  // namespace ringlb::app
