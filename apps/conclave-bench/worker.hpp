// One measurement, run in a child process of its own so its CPU time and peak RSS are the
// client's alone: N model calls against a running conclave-mock, concurrently, one after
// another, streamed, as the whole heavy pipeline, or as a plan shaped like a DAG. Prints one
// JSON line with the result.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace conclave::bench {

struct worker_args {
  std::string kind =
      "raw";        ///< raw | raw-warm | stream | stream-anthropic | sequential | pipeline | dag
  std::string url;  ///< the mock's base URL (http or https); not for dag
  std::string ca_file;      ///< for https: the mock's CA
  int n = 1;                ///< calls (pipeline: agents; dag: subtasks)
  int max_connections = 0;  ///< the client's pool cap; 0: n (every call its own connection)
  // dag only:
  std::vector<std::string> tier_urls;    ///< the mocks at L/2, L and 2L (see dag.hpp)
  std::chrono::milliseconds latency{0};  ///< L, for each subtask's scripted latency
  int depth = 4;                         ///< levels
  std::uint64_t seed = 4;                ///< draws the graph and the latencies
};

/// Runs the measurement and prints its JSON line on stdout; returns the exit status.
int run_worker(const worker_args& args);

}  // namespace conclave::bench
