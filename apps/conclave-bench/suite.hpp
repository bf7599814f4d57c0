// The benchmark suite: starts conclave-mock processes (plain and TLS) at latency L, runs each
// measurement in a worker process of its own, and derives the figures the targets speak of
// (wall against the ideal, marginal client CPU and RSS per call, overhead percentiles,
// connections, the mock's own CPU per request, speedup against sequential), and runs the CLI's
// own heavy pipeline as a program (cli_bench.hpp).
#pragma once

#include "cli_bench.hpp"
#include "redis_bench.hpp"
#include "serve_bench.hpp"
#include "tools_bench.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace conclave::bench {

struct suite_options {
  std::chrono::milliseconds latency{200};         ///< the mock's latency L
  std::vector<int> fan_out{1, 100, 1000, 10000};  ///< N for the raw fan-out
  std::vector<int> small{1, 1000};                ///< N for streaming and TLS
  /// Agents for the library's heavy pipeline (a worker running async_ask); 1 for the marginals.
  std::vector<int> pipeline{1, 64, 512, 2048};
  /// Agents for the CLI's heavy pipeline (`conclave ask` as a child process); 1 likewise.
  std::vector<int> cli_agents{1, 64, 512, 2048};
  /// Calls for the warm scenario: two rounds of this many at once, the second measured on the
  /// connections the first left open (a host that stays up); 0: not run.
  int warm_n = 2048;
  int speedup_n = 8;             ///< N for parallel against sequential
  int pooled_n = 2000;           ///< calls for the keep-alive scenario ...
  int pooled_connections = 100;  ///< ... through at most this many connections
  bool target_run = true;        ///< also 1 and 10,000 calls at L = 1 s (the targets' workload)
  std::string mock_path;         ///< conclave-mock to run
  std::string conclave_path;     ///< the conclave CLI to run (the cli scenario)
  /// The tools scenario: one agent, one call a turn, so each call is conclave's whole round
  /// (machine, a model turn's bookkeeping, events) beside the tool itself.
  int tool_agents = 1, tool_turns = 200, tool_calls_per_turn = 1;
  /// An MCP stdio server with an `echo` tool; empty: `conclave-mock --mcp-stdio`.
  std::vector<std::string> mcp_server;
  /// The dag scenario (dag.hpp): subtasks in `dag_depth` levels, latencies L/2, L, 2L drawn
  /// from `dag_seed`, run as a plan with room for all at once; 0 subtasks: not run.
  int dag_subtasks = 64, dag_depth = 4;
  /// 4: a critical path of 7L against a superstep bound of 8L, the commonest pair over seeds
  /// 1-40 (about 4 seeds in 10 put a 2L subtask on every level of one path: both 8L).
  std::uint64_t dag_seed = 4;
  /// The serve scenario (serve_bench.hpp): tasks at once, and tasks queued, against a mock at
  /// its own short latency (one model call per task, so what serve adds stands out).
  int serve_n = 1000;
  std::chrono::milliseconds serve_latency{20};
  /// The redis scenario (redis_bench.hpp): limiter checks on one connection at a depth, and
  /// tasks from submit to claim with three instances, claimers polling every `redis_poll`.
  int redis_checks = 100'000, redis_depth = 64, redis_tasks = 2000;
  std::chrono::milliseconds redis_poll{1};
  /// Scenarios to run (names from scenario_names()); empty: all.
  std::vector<std::string> scenarios;
  bool runs(const std::string& scenario) const;
};

/// fan-out, warm, pooled, stream, sequential, pipeline, cli, dag, tls, target, tools, serve,
/// redis.
const std::vector<std::string>& scenario_names();

struct measurement {
  std::string scenario;  ///< fan-out | warm | pooled | stream | tls | sequential | pipeline | dag
  int n = 0;
  std::chrono::milliseconds latency{0};
  int ok = 0, failed = 0;
  std::string first_error;
  double wall_ms = 0;          ///< in-process, first call to last completion
  double process_wall_ms = 0;  ///< the worker process, start to exit
  double ideal_ms = 0;         ///< L; N x L sequential; 3L pipeline (N=1: L); dag: critical path
  double cpu_us = 0;           ///< the worker process's user + sys
  double user_us = 0, sys_us = 0;  ///< ... and apart
  double peak_rss_kib = 0;
  double p50_overhead_ms = 0, p99_overhead_ms = 0;  ///< client-observed latency - L
  std::uint64_t connections = 0;                    ///< opened by the client
  double mock_cpu_per_request_us = 0;
  // Marginal against the same scenario at N = 1 (0 when there is none):
  double cpu_per_call_us = 0;
  double user_per_call_us = 0, sys_per_call_us = 0;
  double rss_per_call_kib = 0;
  double allocations_per_call = 0;  ///< warm only: heap allocations in its second round / N
  // dag only (wall_ms is then the report's fan_out_wall, without the combine call; the
  // overheads are over each subtask's own scripted latency):
  double superstep_ms = 0;      ///< sum over levels of each level's largest scripted latency
  double run_wall_ms = 0;       ///< the report's wall: the plan and its combine call
  double observed_path_ms = 0;  ///< the critical path summing the agents' measured latencies
};

struct target {
  std::string name;
  double value = 0;
  double limit = 0;
  std::string unit;
  bool lower_is_better = true;
  bool met() const { return lower_is_better ? value <= limit : value >= limit; }
};

struct suite_result {
  std::vector<measurement> rows;
  std::vector<target> targets;
  std::vector<std::string> notes;     ///< e.g. N capped by the open-file limit
  std::vector<tool_figure> tools;     ///< conclave's cost per tool call, beside a direct call
  std::optional<serve_figure> serve;  ///< the task API beside the library
  std::optional<redis_figure> redis;  ///< limits and the queue shared on Redis
  std::vector<cli_figure> cli;        ///< the CLI's heavy pipeline, by N
};

suite_result run_suite(const suite_options& opts);

}  // namespace conclave::bench
