#pragma once
// The Prometheus scrape target: prometheus-cpp's pull exposer (civetweb, its own threads)
// serving GET /metrics. A scrape hops onto the control loop (EventLoop::post) to fill a
// stats::Model there, where the registry lives, then renders it on the exposer's thread. So a
// slow or hostile scraper costs an exposer thread, never the control loop's time beyond the
// model's filling, and never a worker's: workers are only read, through their counters.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "ringlb/io/EventLoop.h"
#include "ringlb/net/Address.h"
#include "ringlb/stats/Exposition.h"
#include "ringlb/stats/Model.h"

namespace prometheus {
class Exposer;
}

namespace ringlb::control {

class MetricsServer {
 public:
  // Fills a model; called on the loop's thread.
  using ModelSource = std::function<stats::Model()>;
  // A scrape waits this long for the loop at most, then answers with no families (an empty
  // scrape shows up in Prometheus as missing series, which alerting on `up` catches) rather
  // than hanging the scraper.
  static constexpr std::chrono::milliseconds kLoopWait{2000};
  static constexpr int kThreads = 4;
  static constexpr std::chrono::milliseconds kRequestTimeout{3000};

  // Listens on `listen` (port 0: any; port() tells which). nullptr and *error set if it cannot.
  static std::unique_ptr<MetricsServer> open(io::EventLoop& loop, const net::Address& listen,
                                             stats::Compat compat, ModelSource collect, std::string* error);
  ~MetricsServer();  // stops the exposer (waits for scrapes in progress)
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const { return port_; }

 private:
  class Collector;
  MetricsServer() = default;

  std::shared_ptr<Collector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  uint16_t port_ = 0;
};

}  // namespace ringlb::control
