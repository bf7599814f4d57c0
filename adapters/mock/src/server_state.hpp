// State shared by the mock server and its connections: options, counters, the jitter source.
#pragma once

#include <conclave/mock/mock_server.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>

namespace conclave::mock::detail {

struct server_state {
  explicit server_state(mock_options o) : opts(std::move(o)), rng(opts.seed) {}

  std::chrono::milliseconds next_latency() {
    if (opts.jitter.count() <= 0) return opts.latency;
    std::lock_guard lock(rng_mutex);  // never held across a suspension
    std::uniform_int_distribution<long> draw(0, opts.jitter.count());
    return opts.latency + std::chrono::milliseconds(draw(rng));
  }

  std::string next_request_id() { return "req_mock_" + std::to_string(++request_ids); }

  const mock_options opts;
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> completions{0};
  std::atomic<std::uint64_t> faults_injected{0};
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> request_ids{0};

 private:
  std::mutex rng_mutex;
  std::mt19937_64 rng;
};

}  // namespace conclave::mock::detail
