// The `cli` scenario: the CLI's own heavy pipeline. `conclave ask --agents N --concurrency N`
// runs as a child process against a conclave-mock at latency L, all N agents at once. Per N:
// the process's wall (spawn to exit) against the ideal (3L: decomposition, one wave of agents,
// synthesis; L for one agent, which asks directly), its user and system CPU apart, and its peak
// RSS; against N = 1, RSS and CPU per agent. The library's own pipeline is the `pipeline`
// scenario (async_ask in a worker), so what the CLI adds shows beside it.
#pragma once

#include "mock_process.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace conclave::bench {

struct cli_figure {
  int n = 0;  ///< agents, all at once
  std::chrono::milliseconds latency{0};
  std::string error;   ///< why the run is no figure (it failed, or did not run the pipeline)
  double wall_ms = 0;  ///< the process, spawn to exit
  double ideal_ms = 0;
  double user_ms = 0, sys_ms = 0;
  double peak_rss_kib = 0;  ///< the CLI's own (see cli_bench.cpp)
  double completions = 0;   ///< model calls the mock answered for the run
  // Marginal against N = 1: (value at N - value at N=1) / (N-1); 0 without a good N = 1.
  double rss_per_agent_kib = 0;
  double user_per_agent_us = 0, sys_per_agent_us = 0;
  bool ok() const { return error.empty(); }
};

/// Runs `conclave` (a path, or a name looked up in PATH) once for each N in `agents` against
/// `mock`, whose latency is `latency`. A run that fails is a figure with its error; `notes`
/// gets how its peak RSS was told apart from the bench's own. Throws std::runtime_error when
/// the program cannot be started.
std::vector<cli_figure> run_cli_bench(const std::string& conclave, const mock_process& mock,
                                      const std::vector<int>& agents,
                                      std::chrono::milliseconds latency,
                                      std::vector<std::string>& notes);

}  // namespace conclave::bench
