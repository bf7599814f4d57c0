#include "cli_bench.hpp"

#include "child.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

namespace conclave::bench {
namespace {

// The question the library's pipeline worker asks (worker.cpp), so the two runs compare.
constexpr const char* question = "How should a city cut traffic deaths?";

// An empty config for the runs: without one the CLI reads $CONCLAVE_CONFIG or
// ~/.config/conclave/config.json, and what those set (verify, a model, limits) would change
// what is measured.
class empty_config {
 public:
  empty_config()
      : path_(std::filesystem::temp_directory_path() /
              ("conclave-bench-config-" + std::to_string(getpid()) + ".json")) {
    std::ofstream f(path_);
    f << "{}\n";
    if (!f) throw std::runtime_error("cannot write " + path_.string());
  }
  ~empty_config() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  empty_config(const empty_config&) = delete;
  empty_config& operator=(const empty_config&) = delete;
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

std::string kib(long v) { return std::to_string(v) + " KiB"; }

// One run of `conclave ask` with n agents. `carry_kib` gets the most the fork carried into its
// ru_maxrss, the floor under which the CLI's own peak cannot be seen (see run_cli_bench).
cli_figure run_once(const std::string& conclave, const std::string& config,
                    const mock_process& mock, int n, std::chrono::milliseconds latency,
                    long& carry_kib) {
  cli_figure f;
  f.n = n;
  f.latency = latency;
  const double l_ms = static_cast<double>(latency.count());
  f.ideal_ms = n == 1 ? l_ms : 3 * l_ms;
  // --no-log and --no-journal: nothing written to the user's state; --no-stdin: a bench run
  // with stdin on a pipe would otherwise hand it to the question as context.
  const std::vector<std::string> args{"ask",           "--config",        config,
                                      "--provider",    "openai",          "--base-url",
                                      mock.url(),      "--agents",        std::to_string(n),
                                      "--concurrency", std::to_string(n), "--no-journal",
                                      "--no-log",      "--no-stdin",      "-q",
                                      question};
  const double completions_before = load_of({&mock}).completions;
  // Started by fork, so ru_maxrss is the CLI's own. Exec keeps the high-water mark of the
  // memory it leaves, and ru_maxrss is the larger of that and the program's own peak: a max,
  // not a sum (measured: a parent at 300 MiB that posix_spawns /bin/true reads 300 MiB).
  // posix_spawn leaves the bench's own memory (CLONE_VM), whose peak is about 8.5 MiB, as much
  // as the CLI idles at; a program in between that execs does not help, the mark survives every
  // exec. A fork leaves a copy holding only the bench's anonymous pages, under 2 MiB, which
  // fork_carry_kib() measures; each run must stand above it, or it is an error, not a figure.
  // Checked: at N=1 this reads what /usr/bin/time (small itself) reads for the same command
  // (10.3-10.6 MiB both, over runs).
  const long carry = fork_carry_kib();
  carry_kib = std::max(carry_kib, carry);
  child cli(conclave, args, child::start::fork);
  cli.pin(bench_cpu_for_client());
  const std::string answer = cli.read_all();
  const auto exit = cli.wait();
  f.completions = load_of({&mock}).completions - completions_before;
  f.wall_ms = static_cast<double>(exit.wall.count()) / 1000.0;
  f.user_ms = static_cast<double>(exit.user.count()) / 1000.0;
  f.sys_ms = static_cast<double>(exit.sys.count()) / 1000.0;
  f.peak_rss_kib = static_cast<double>(exit.max_rss_kb);

  const double expected = n == 1 ? 1 : n + 2;  // decomposition, the agents, synthesis
  if (exit.code != 0) {
    f.error = exit.code < 0 ? "killed by a signal" : "exit " + std::to_string(exit.code);
  } else if (answer.find_first_not_of(" \t\r\n") == std::string::npos) {
    f.error = "no answer on stdout";
  } else if (f.completions < expected) {
    f.error = "the mock answered " + std::to_string(static_cast<long>(f.completions)) +
              " calls where the pipeline makes " + std::to_string(static_cast<long>(expected)) +
              " (did the decomposition fall back?)";
  } else if (exit.max_rss_kb <= carry) {
    f.error = "its peak RSS is hidden under what the fork carried over (ru_maxrss " +
              kib(exit.max_rss_kb) + ", the fork's " + kib(carry) + ")";
  }
  return f;
}

}  // namespace

std::vector<cli_figure> run_cli_bench(const std::string& conclave, const mock_process& mock,
                                      const std::vector<int>& agents,
                                      std::chrono::milliseconds latency,
                                      std::vector<std::string>& notes) {
  const empty_config config;
  std::vector<cli_figure> out;
  long carry_kib = 0;
  for (int n : agents) {
    std::cerr << "conclave-bench: cli N=" << n << std::endl;
    out.push_back(run_once(conclave, config.path(), mock, n, latency, carry_kib));
  }
  const auto base =
      std::find_if(out.begin(), out.end(), [](const cli_figure& f) { return f.n == 1 && f.ok(); });
  for (auto& f : out) {
    if (base == out.end() || f.n <= 1 || !f.ok()) continue;
    const double more = f.n - 1;
    f.rss_per_agent_kib = (f.peak_rss_kib - base->peak_rss_kib) / more;
    f.user_per_agent_us = (f.user_ms - base->user_ms) * 1000.0 / more;
    f.sys_per_agent_us = (f.sys_ms - base->sys_ms) * 1000.0 / more;
  }
  if (!out.empty()) {
    notes.push_back(
        "cli: peak RSS is wait4's ru_maxrss of a forked child, the larger of the "
        "CLI's own peak and the fork's copy of the bench (at most " +
        kib(carry_kib) + "), so every figure above that is the CLI's own");
  }
  return out;
}

}  // namespace conclave::bench
