#pragma once
// The control side of a running ringlb: binds listeners, starts one worker per core, and turns
// signals into actions. Runs on the main thread; workers run on their own threads.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringlb/config/Config.h"
#include "ringlb/proxy/Worker.h"

namespace ringlb::app {

class Server {
 public:
  explicit Server(std::shared_ptr<const config::Config> config);
  ~Server();

  // Binds every listener and starts the workers. Returns an error message (empty on success);
  // on failure nothing is left running.
  std::string start();
  // Blocks handling signals until a graceful stop completed. Returns the process exit status.
  int run();

 private:
  unsigned workerCount() const;
  void stopWorkers();
  void joinWorkers();

  std::shared_ptr<const config::Config> config_;
  std::vector<std::unique_ptr<proxy::Worker>> workers_;
  std::vector<std::thread> threads_;
  int signalFd_ = -1;
};

}  // namespace ringlb::app
