// One measurement, run in a child process of its own so its CPU time and peak RSS are the
// client's alone: N model calls against a running conclave-mock, concurrently, one after
// another, streamed, or as the whole heavy pipeline. Prints one JSON line with the result.
#pragma once

#include <string>

namespace conclave::bench {

struct worker_args {
  std::string kind = "raw";  ///< raw | stream | stream-anthropic | sequential | pipeline
  std::string url;           ///< the mock's base URL (http or https)
  std::string ca_file;       ///< for https: the mock's CA
  int n = 1;                 ///< calls (pipeline: agents)
  int max_connections = 0;   ///< the client's pool cap; 0: n (every call its own connection)
};

/// Runs the measurement and prints its JSON line on stdout; returns the exit status.
int run_worker(const worker_args& args);

}  // namespace conclave::bench
