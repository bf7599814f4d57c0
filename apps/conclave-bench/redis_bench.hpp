// The `redis` scenario: what sharing limits and the queue on Redis costs. A redis-server of
// its own (pinned to the mock's core, loopback, no persistence), then:
//   - limiter checks per second on one connection (shared_limiter::async_reserve, `depth`
//     in flight), beside redis-benchmark running the very same script by EVALSHA on one
//     connection at the same depth (the peer: the server's cost plus a C client's);
//   - task submit -> claim latency, p50 and p99, with three instances on the run journal's
//     shared queue as `serve --redis` uses it (three blocking connections on three threads,
//     one queueing at a steady pace, two claiming and polling every `poll` when empty),
//     beside one bare round trip (PING).
#pragma once

#include <chrono>
#include <string>

namespace conclave::bench {

struct redis_figure {
  int checks = 0, depth = 0;
  double checks_per_s = 0;       ///< conclave's shared_limiter
  double peer_checks_per_s = 0;  ///< redis-benchmark, same script; 0 when it could not run
  std::string peer_note;         ///< why there is no peer figure, or the command line
  int tasks = 0;
  std::chrono::milliseconds poll{0};
  double claim_p50_ms = 0, claim_p99_ms = 0;  ///< submit -> claimed
  double ping_p50_ms = 0, ping_p99_ms = 0;    ///< one round trip, the floor
  int failed = 0;
  std::string first_error;
};

/// Throws std::runtime_error when redis-server cannot be started.
redis_figure run_redis_bench(int checks, int depth, int tasks, std::chrono::milliseconds poll);

}  // namespace conclave::bench
