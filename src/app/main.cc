// ringlb entry point: parse the command line, load and validate the configuration, check that
// io_uring is usable, then run until a signal stops us.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "ringlb/app/Cli.h"
#include "ringlb/app/Ctl.h"
#include "ringlb/app/Server.h"
#include "ringlb/config/Loader.h"
#include "ringlb/io/Ring.h"

namespace {

// Each connection costs two descriptors (more while splicing): take every descriptor the hard
// limit allows, as HAProxy does, rather than fail at the default 1024.
void raiseDescriptorLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ringlb;
  std::string error;
  if (argc > 1 && std::strcmp(argv[1], "ctl") == 0) {
    const auto ctl = app::parseCtl(std::vector<std::string>(argv + 2, argv + argc), &error);
    if (!ctl) {
      std::cerr << "ringlb ctl: " << error << "\n\n" << app::ctlUsage();
      return 1;
    }
    return app::runCtl(*ctl);
  }
  const auto options = app::parseCli(std::vector<std::string>(argv + 1, argv + argc), &error);
  if (!options) {
    std::cerr << "ringlb: " << error << "\n\n" << app::usage();
    return 1;
  }
  if (options->help) {
    std::cout << app::usage();
    return 0;
  }
  if (options->version) {
    std::cout << "ringlb " << RINGLB_VERSION << "\n";
    return 0;
  }
  auto logger = spdlog::stderr_color_mt("ringlb");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v");
  spdlog::set_level(options->debug ? spdlog::level::debug : spdlog::level::info);

  config::LoadResult loaded = config::loadFile(options->configPath);
  if (!loaded.ok()) {
    for (const config::ConfigError& e : loaded.errors) {
      std::cerr << options->configPath << ": " << e.toString() << "\n";
    }
    std::cerr << options->configPath << ": " << loaded.errors.size() << " error"
              << (loaded.errors.size() == 1 ? "" : "s") << "\n";
    return 1;
  }
  for (const config::ConfigError& w : loaded.warnings) {
    if (options->check) {
      std::cerr << options->configPath << ": warning: " << w.toString() << "\n";
    } else {
      spdlog::warn("{}: {}", options->configPath, w.toString());
    }
  }
  if (options->check) {
    std::cerr << options->configPath << ": configuration is valid\n";
    return 0;
  }
  if (const std::string reason = io::probeIoUring(); !reason.empty()) {
    spdlog::critical("{}", reason);
    return 1;
  }
  raiseDescriptorLimit();
  app::Server server(std::make_shared<const config::Config>(std::move(*loaded.config)), options->upgradeFrom);
  if (const std::string failure = server.start(); !failure.empty()) {
    spdlog::critical("{}", failure);
    return 1;
  }
  return server.run();
}
