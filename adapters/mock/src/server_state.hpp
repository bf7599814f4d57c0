// State shared by the mock server and its connections: options, counters, the jitter source.
#pragma once

#include <conclave/mock/mock_server.hpp>
#include <conclave/mock/scenario.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
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

  /// With fault_rate set, maybe a random fault for an ordinary request (seeded, so a run is
  /// reproducible for a given order of arrivals).
  fault draw_fault();

  /// The enforced rate limit's verdict on a chat completion arriving now.
  struct admission {
    bool allowed = true;
    std::chrono::milliseconds retry_after{0};  ///< when refused: until a place frees up
    std::int64_t remaining = 0;                ///< places left in the window after this one
    std::chrono::milliseconds reset{0};        ///< until the oldest counted request leaves
  };
  std::optional<admission> admit(std::chrono::steady_clock::time_point now);

  /// GET /v1/stats: the counters (connections as the HTTP server counted them), and the
  /// serving process's CPU time (for benchmarks).
  std::string stats_json(std::uint64_t connections_accepted) const;

  void count_fault(fault f) {
    ++faults_injected;
    ++faults_by_kind[static_cast<std::size_t>(f)];
  }

  const mock_options opts;
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> completions{0};
  std::atomic<std::uint64_t> faults_injected{0};
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> rate_limited{0};
  std::atomic<std::uint64_t> peak_window_requests{0};
  std::atomic<std::uint64_t> openai_calls{0};     ///< POSTs to .../chat/completions
  std::atomic<std::uint64_t> anthropic_calls{0};  ///< POSTs to .../messages
  std::array<std::atomic<std::uint64_t>, fault_kinds> faults_by_kind{};

 private:
  std::mutex rng_mutex;  // guards the three below; never held across a suspension
  std::mt19937_64 rng;
  std::mt19937_64 fault_rng{opts.fault_seed};
  std::deque<std::chrono::steady_clock::time_point> window_starts;
};

}  // namespace conclave::mock::detail
