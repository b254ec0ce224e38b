#include "ringlb/control/MetricsServer.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <future>
#include <stdexcept>

namespace ringlb::control {

class MetricsServer::Collector : public prometheus::Collectable {
 public:
  Collector(io::EventLoop& loop, stats::Compat compat, ModelSource collect)
      : loop_(loop), compat_(compat), collect_(std::move(collect)) {}

  // On an exposer thread.
  std::vector<prometheus::MetricFamily> Collect() const override {
    auto promise = std::make_shared<std::promise<stats::Model>>();
    std::future<stats::Model> model = promise->get_future();
    // The task owns what it needs: should the wait below give up, the loop still finds the
    // promise (and the collect function's owner outlives the loop's turns: see ~MetricsServer).
    loop_.post([promise, collect = collect_] { promise->set_value(collect()); });
    if (model.wait_for(kLoopWait) != std::future_status::ready) return {};
    return stats::exposition(model.get(), compat_);
  }

 private:
  io::EventLoop& loop_;
  stats::Compat compat_;
  MetricsServer::ModelSource collect_;
};

std::unique_ptr<MetricsServer> MetricsServer::open(io::EventLoop& loop, const net::Address& listen,
                                                   stats::Compat compat, ModelSource collect,
                                                   std::string* error) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->collector_ = std::make_shared<Collector>(loop, compat, std::move(collect));
  // civetweb's syntax: "127.0.0.1:9100", "[::1]:9100" (what Address::toString writes).
  const std::string bind = listen.toString();
  try {
    // civetweb serves one connection per thread: a scraper that connects and stays silent holds
    // a thread until the request timeout. Four threads and a 3 s timeout keep a few such
    // connections from starving a real scrape for long.
    server->exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", bind, "num_threads", std::to_string(kThreads), "request_timeout_ms",
        std::to_string(kRequestTimeout.count())});
  } catch (const std::exception& e) {
    *error = "metrics: cannot listen on " + bind + ": " + e.what();
    return nullptr;
  }
  server->exposer_->RegisterCollectable(server->collector_);
  const std::vector<int> ports = server->exposer_->GetListeningPorts();
  if (ports.empty()) {
    *error = "metrics: cannot listen on " + bind;
    return nullptr;
  }
  server->port_ = static_cast<uint16_t>(ports.front());
  return server;
}

MetricsServer::~MetricsServer() = default;

}  // namespace ringlb::control
