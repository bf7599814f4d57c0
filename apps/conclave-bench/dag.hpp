// The `dag` scenario's graph, decided with no I/O: subtasks in levels, each below the first
// depending on 1-3 subtasks of the level above, each with one of three scripted latencies
// (L/2, L, 2L), all drawn from a seed; the plan that runs it; and the two figures its fan-out
// wall is measured against: the critical path (the most any executor must take) and a superstep
// executor's bound (each level waiting for the previous level's slowest).
#pragma once

#include <conclave/engine/plan.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace conclave::bench {

struct dag_options {
  int subtasks = 64;       ///< split evenly over the levels (the first levels take any rest)
  int depth = 4;           ///< levels, at least 1 and at most `subtasks`
  std::uint64_t seed = 1;  ///< the same seed draws the same graph and latencies
};

/// How many latency tiers there are, and the latency of each: L/2 (rounded down), L, 2L.
inline constexpr std::size_t dag_tier_count = 3;
std::array<std::chrono::milliseconds, dag_tier_count> dag_tiers(std::chrono::milliseconds l);

/// The router's provider names for the tiers ("half", "single", "double"): subtask i's model is
/// "<name of its tier>:mock", each provider a mock at that tier's latency.
const std::array<std::string, dag_tier_count>& dag_tier_providers();

struct dag_node {
  int level = 0;
  std::size_t tier = 0;                 ///< index into dag_tiers()
  std::vector<std::size_t> depends_on;  ///< nodes of level - 1, ascending, distinct
};

/// The graph, in level order (so in topological order). Throws std::invalid_argument when
/// `depth` is not in [1, subtasks].
std::vector<dag_node> make_dag(const dag_options& o);

/// The longest path through the graph, summing each node's latency (`latency[i]` for node i).
std::chrono::microseconds critical_path(const std::vector<dag_node>& g,
                                        const std::vector<std::chrono::microseconds>& latency);

/// The sum over levels of each level's largest latency: the least a superstep executor, which
/// starts a level only when the whole previous level is done, could take.
std::chrono::microseconds superstep_bound(const std::vector<dag_node>& g,
                                          const std::vector<std::chrono::microseconds>& latency);

/// Each node's scripted latency: its tier's at latency `l`.
std::vector<std::chrono::microseconds> scripted_latencies(const std::vector<dag_node>& g,
                                                          std::chrono::milliseconds l);

/// The plan that runs `g`: subtask "d<level>.<k>" on model "<tier provider>:mock", combined
/// by synthesis.
plan make_dag_plan(const std::vector<dag_node>& g);

}  // namespace conclave::bench
