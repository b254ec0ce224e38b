// `ringlb ctl` argument parsing (runCtl needs a socket: the integration tests cover it).
#include "ringlb/app/Ctl.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringlb::app {
namespace {

std::optional<CtlOptions> parse(const std::vector<std::string>& args, std::string* error) {
  error->clear();
  return parseCtl(args, error);
}

TEST(CtlTest, SocketLongAndShortForms) {
  std::string error;
  for (const char* flag : {"--socket", "-s"}) {
    const auto o = parse({flag, "/run/ringlb.sock", "help"}, &error);
    ASSERT_TRUE(o.has_value()) << flag << ": " << error;
    EXPECT_EQ(o->socket, "/run/ringlb.sock");
    EXPECT_EQ(o->configPath, "");
    EXPECT_EQ(o->command, "help");
  }
}

TEST(CtlTest, ConfigLongAndShortForms) {
  std::string error;
  for (const char* flag : {"--config", "-c"}) {
    const auto o = parse({flag, "/etc/ringlb.yaml", "show", "info"}, &error);
    ASSERT_TRUE(o.has_value()) << flag << ": " << error;
    EXPECT_EQ(o->configPath, "/etc/ringlb.yaml");
    EXPECT_EQ(o->socket, "");
    EXPECT_EQ(o->command, "show info");
  }
}

TEST(CtlTest, RemainingWordsAreJoinedIntoOneCommand) {
  std::string error;
  const auto o = parse({"-s", "/x", "set", "server", "app/s1", "state", "draining"}, &error);
  ASSERT_TRUE(o.has_value()) << error;
  EXPECT_EQ(o->command, "set server app/s1 state draining");
}

// Once the command starts, flag-like words belong to it.
TEST(CtlTest, FlagsAfterTheCommandAreCommandWords) {
  std::string error;
  const auto o = parse({"-s", "/x", "show", "-c", "servers"}, &error);
  ASSERT_TRUE(o.has_value()) << error;
  EXPECT_EQ(o->command, "show -c servers");
  EXPECT_EQ(o->configPath, "");
}

TEST(CtlTest, BothSocketAndConfigIsAnError) {
  std::string error;
  EXPECT_FALSE(parse({"-s", "/x", "-c", "/y", "help"}, &error).has_value());
  EXPECT_NE(error.find("exactly one"), std::string::npos) << error;
  EXPECT_FALSE(parse({"--config", "/y", "--socket", "/x", "help"}, &error).has_value());
  EXPECT_NE(error.find("exactly one"), std::string::npos) << error;
}

TEST(CtlTest, NeitherSocketNorConfigIsAnError) {
  std::string error;
  EXPECT_FALSE(parse({"help"}, &error).has_value());
  EXPECT_NE(error.find("exactly one"), std::string::npos) << error;
  EXPECT_FALSE(parse({}, &error).has_value());
  EXPECT_FALSE(error.empty());
}

TEST(CtlTest, FlagWithoutItsArgumentIsAnError) {
  std::string error;
  for (const char* flag : {"--socket", "-s", "-c", "--config"}) {
    EXPECT_FALSE(parse({flag}, &error).has_value()) << flag;
    EXPECT_EQ(error, std::string(flag) + " needs an argument");
  }
  // The flag's argument missing after another, complete flag.
  EXPECT_FALSE(parse({"-s", "/x", "-c"}, &error).has_value());
  EXPECT_EQ(error, "-c needs an argument");
}

TEST(CtlTest, EmptyCommandIsAnError) {
  std::string error;
  EXPECT_FALSE(parse({"--socket", "/x"}, &error).has_value());
  EXPECT_NE(error.find("no command"), std::string::npos) << error;
  EXPECT_FALSE(parse({"-c", "/etc/ringlb.yaml"}, &error).has_value());
  EXPECT_NE(error.find("no command"), std::string::npos) << error;
}

TEST(CtlTest, MultiLineCommandIsAnError) {
  std::string error;
  EXPECT_FALSE(parse({"-s", "/x", "help\nshow info"}, &error).has_value());
  EXPECT_NE(error.find("one line"), std::string::npos) << error;
}

TEST(CtlTest, UsageNamesBothWaysToFindTheSocket) {
  const std::string usage = ctlUsage();
  EXPECT_NE(usage.find("--socket PATH"), std::string::npos);
  EXPECT_NE(usage.find("-c CONFIG"), std::string::npos);
}

}  // namespace
}  // namespace ringlb::app
