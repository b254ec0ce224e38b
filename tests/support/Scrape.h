#pragma once
// GET /metrics from a running ringlb, and reading one sample out of the text exposition.
#include <cstdint>
#include <optional>
#include <string>

#include "support/Deadline.h"

namespace ringlb::test {

// The port of ringlb's metrics endpoint, from its start-up log ("metrics on http://ADDR/metrics");
// 0 if not found.
std::uint16_t metricsPort(const std::string& log);

// The body of GET /metrics on 127.0.0.1:port (HTTP/1.0, read to the end); nullopt on any failure.
std::optional<std::string> scrape(std::uint16_t port, const Deadline& deadline = Deadline(10s));

// The value of the sample written exactly `series` (name and labels as the exposition writes
// them, e.g. `ringlb_frontend_bytes_in_total{frontend="web"}`); nullopt if absent.
std::optional<double> sample(const std::string& body, const std::string& series);

}  // namespace ringlb::test
