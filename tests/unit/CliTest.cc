#include <gtest/gtest.h>

#include "ringlb/app/Cli.h"

using ringlb::app::parseCli;

// -c FILE with --check selects validation mode.
TEST(CliTest, ParsesCheckWithConfig) {
  std::string error;
  auto o = parseCli({"--check", "-c", "x.yaml"}, &error);
  ASSERT_TRUE(o.has_value()) << error;
  EXPECT_TRUE(o->check);
  EXPECT_EQ(o->configPath, "x.yaml");
}

// --version and --help need no configuration file.
TEST(CliTest, VersionAndHelpNeedNoConfig) {
  std::string error;
  EXPECT_TRUE(parseCli({"--version"}, &error).has_value());
  EXPECT_TRUE(parseCli({"--help"}, &error).has_value());
}

// Running without -c, with -c lacking its argument, or with an unknown flag is an error.
TEST(CliTest, RejectsMissingConfigAndUnknownFlags) {
  std::string error;
  EXPECT_FALSE(parseCli({}, &error).has_value());
  EXPECT_NE(error.find("-c FILE"), std::string::npos);
  EXPECT_FALSE(parseCli({"-c"}, &error).has_value());
  EXPECT_FALSE(parseCli({"-c", "x", "--frobnicate"}, &error).has_value());
  EXPECT_NE(error.find("--frobnicate"), std::string::npos);
}

TEST(CliTest, ParsesUpgradeFrom) {
  std::string error;
  auto o = parseCli({"-c", "x.yaml", "--upgrade-from", "/run/ringlb/admin.sock"}, &error);
  ASSERT_TRUE(o.has_value()) << error;
  EXPECT_EQ(o->upgradeFrom, "/run/ringlb/admin.sock");
  EXPECT_FALSE(parseCli({"-c", "x.yaml", "--upgrade-from"}, &error).has_value());
  EXPECT_NE(error.find("--upgrade-from needs"), std::string::npos) << error;
}
