// The `serve` scenario: what conclave serve's task API adds over the library. N short tasks
// (one agent, so one model call each, no decomposition) against a mock at latency L, first as N
// concurrent async_ask on an engine (the peer), then as N concurrent POST /v1/tasks to an
// in-process serve::service on the same engine, each task's end seen as the final `status`
// frame of its SSE events stream: latency from submit to done, p50 and p99 of both. And the
// memory a queued task costs (workers = 1, a mock that does not answer in time, N tasks
// queued behind the one running) beside a pending async_ask's (N runs waiting behind one call
// for the client's single connection). Each part runs in a worker process of its own
// (serve_worker.cpp); serve_bench.cpp starts the mocks and the workers.
#pragma once

#include <chrono>
#include <string>

namespace conclave::bench {

struct serve_figure {
  int n = 0;                             ///< tasks (and asks)
  std::chrono::milliseconds latency{0};  ///< the mock's L
  int library_ok = 0, serve_ok = 0;      ///< of n each
  int failed = 0;                        ///< over both
  std::string first_error;
  // From submit to done, ms: async_ask's call to its completion; POST to the final SSE frame.
  double library_p50_ms = 0, library_p99_ms = 0, library_wall_ms = 0;
  double serve_p50_ms = 0, serve_p99_ms = 0, serve_wall_ms = 0;
  // CPU per task, us: the library's (the process running the asks), the service's (the process
  // less the HTTP clients' thread), and those clients'.
  double library_cpu_us = 0, serve_cpu_us = 0, client_cpu_us = 0;
  // Per queued task / per pending async_ask: VmRSS growth and live heap (mallinfo2) growth.
  int queued = 0, pending = 0;  ///< tasks the service said were queued; asks still pending
  double queued_rss_kib = 0, queued_heap_kib = 0;
  double pending_rss_kib = 0, pending_heap_kib = 0;
};

/// Starts a mock at `latency` and one that answers in an hour, runs the workers, and gathers
/// their figures. Throws std::runtime_error when a worker fails.
serve_figure run_serve_bench(const std::string& mock_path, int n,
                             std::chrono::milliseconds latency);

/// The worker kinds this file runs: "serve" (latency: library, then through serve),
/// "serve-queued" and "ask-pending" (memory). Prints one JSON line; returns the exit status.
bool is_serve_worker(const std::string& kind);
int run_serve_worker(const std::string& kind, const std::string& url, int n);

}  // namespace conclave::bench
