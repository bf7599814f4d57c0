#include "dag.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace conclave::bench {
namespace {

using std::chrono::microseconds;

// splitmix64: the same numbers from a seed on every platform and standard library, which
// std::uniform_int_distribution does not promise.
class draws {
 public:
  explicit draws(std::uint64_t seed) : state_(seed) {}
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

 private:
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};

}  // namespace

std::array<std::chrono::milliseconds, dag_tier_count> dag_tiers(std::chrono::milliseconds l) {
  return {l / 2, l, 2 * l};
}

const std::array<std::string, dag_tier_count>& dag_tier_providers() {
  static const std::array<std::string, dag_tier_count> names = {"half", "single", "double"};
  return names;
}

std::vector<dag_node> make_dag(const dag_options& o) {
  if (o.depth < 1 || o.depth > o.subtasks) {
    throw std::invalid_argument("dag: depth must be from 1 to the number of subtasks (" +
                                std::to_string(o.subtasks) + "), got " + std::to_string(o.depth));
  }
  draws d(o.seed);
  std::vector<dag_node> g;
  std::size_t above_start = 0, above_count = 0;
  for (int level = 0; level < o.depth; ++level) {
    const auto count =
        static_cast<std::size_t>(o.subtasks / o.depth + (level < o.subtasks % o.depth));
    const std::size_t start = g.size();
    for (std::size_t k = 0; k < count; ++k) {
      dag_node n;
      n.level = level;
      n.tier = d.below(dag_tier_count);
      if (level > 0) {
        // 1-3 distinct nodes of the level above: a partial Fisher-Yates shuffle of its indices.
        std::vector<std::size_t> pool(above_count);
        std::iota(pool.begin(), pool.end(), above_start);
        const std::size_t want = std::min(above_count, 1 + d.below(3));
        for (std::size_t j = 0; j < want; ++j) {
          std::swap(pool[j], pool[j + d.below(above_count - j)]);
          n.depends_on.push_back(pool[j]);
        }
        std::sort(n.depends_on.begin(), n.depends_on.end());
      }
      g.push_back(std::move(n));
    }
    above_start = start;
    above_count = count;
  }
  return g;
}

microseconds critical_path(const std::vector<dag_node>& g,
                           const std::vector<microseconds>& latency) {
  // Level order is a topological order: each node's dependencies have their finish times.
  std::vector<microseconds> finish(g.size());
  microseconds longest{0};
  for (std::size_t i = 0; i < g.size(); ++i) {
    microseconds ready{0};
    for (std::size_t dep : g[i].depends_on) ready = std::max(ready, finish[dep]);
    finish[i] = ready + latency.at(i);
    longest = std::max(longest, finish[i]);
  }
  return longest;
}

microseconds superstep_bound(const std::vector<dag_node>& g,
                             const std::vector<microseconds>& latency) {
  std::vector<microseconds> slowest;
  for (std::size_t i = 0; i < g.size(); ++i) {
    const auto level = static_cast<std::size_t>(g[i].level);
    if (slowest.size() <= level) slowest.resize(level + 1);
    slowest[level] = std::max(slowest[level], latency.at(i));
  }
  return std::accumulate(slowest.begin(), slowest.end(), microseconds{0});
}

std::vector<microseconds> scripted_latencies(const std::vector<dag_node>& g,
                                             std::chrono::milliseconds l) {
  const auto tiers = dag_tiers(l);
  std::vector<microseconds> out;
  out.reserve(g.size());
  for (const auto& n : g) out.push_back(tiers.at(n.tier));
  return out;
}

plan make_dag_plan(const std::vector<dag_node>& g) {
  std::vector<std::string> ids;
  std::vector<int> per_level;
  for (const auto& n : g) {
    const auto level = static_cast<std::size_t>(n.level);
    if (per_level.size() <= level) per_level.resize(level + 1);
    ids.push_back("d" + std::to_string(n.level) + "." + std::to_string(per_level[level]++));
  }
  plan p;
  p.question = "How should a city cut traffic deaths, step by step?";
  for (std::size_t i = 0; i < g.size(); ++i) {
    subtask s;
    s.id = ids[i];
    s.prompt = "Step " + ids[i] + " of the plan: what should the city decide here?";
    s.model = dag_tier_providers().at(g[i].tier) + ":mock";
    for (std::size_t dep : g[i].depends_on) s.depends_on.push_back(ids[dep]);
    p.subtasks.push_back(std::move(s));
  }
  return p;
}

}  // namespace conclave::bench
