#pragma once
// Slow start: a server that comes back (health up, or set active) takes its weight in steps over
// `slowStart` instead of all at once, so a cold cache or a JIT still warming up is not flooded
// (HAProxy's `slowstart`). Pure: the caller passes the time since the server came back.
#include <chrono>
#include <cstdint>

namespace ringlb::health {

// The weight to use `elapsed` after the server came back: weight x elapsed / slowStart, rounded
// up, at least 1 (a server with weight > 0 always takes some traffic), and `weight` itself once
// `elapsed` reaches `slowStart` (or when slowStart is 0). A weight of 0 stays 0.
uint32_t rampWeight(uint32_t weight, std::chrono::milliseconds elapsed,
                    std::chrono::milliseconds slowStart);

// How often the ramp is re-applied (each step rebuilds the backend's balancers): ten steps over
// slowStart, but not more often than every 500 ms.
std::chrono::milliseconds rampStep(std::chrono::milliseconds slowStart);

}  // namespace ringlb::health
