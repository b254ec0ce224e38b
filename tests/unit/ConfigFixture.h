#pragma once
// Loading configurations in unit tests. One machine for every test (64 GiB, 4 CPUs), so that
// whether a document is valid never depends on the machine the tests run on; a document a test
// expects to be valid fails that test (with its first error) when it is not.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringlb/config/Loader.h"

namespace ringlb::config {

inline constexpr Machine kTestMachine{uint64_t{64} << 30, 4};

// Every error of `result` as "path: message (line N)".
inline std::vector<std::string> errorStrings(const LoadResult& result) {
  std::vector<std::string> out;
  for (const ConfigError& error : result.errors) out.push_back(error.toString());
  return out;
}

// `yaml` loaded on kTestMachine; an empty Config (and a test failure) if it has errors.
inline Config loadOrFail(std::string_view yaml) {
  LoadResult result = loadString(yaml, "<string>", kTestMachine);
  EXPECT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors[0].toString());
  return result.config ? std::move(*result.config) : Config{};
}

inline std::shared_ptr<const Config> loadShared(std::string_view yaml) {
  return std::make_shared<const Config>(loadOrFail(yaml));
}

}  // namespace ringlb::config
