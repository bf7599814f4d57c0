// conclave-bench: the engine's cost per agent call and its parallel speedup, measured against
// conclave-mock on loopback. See README ("Benchmarks") for the standard set and the targets.
#include "child.hpp"
#include "cli_numbers.hpp"
#include "report.hpp"
#include "serve_bench.hpp"
#include "suite.hpp"
#include "worker.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <filesystem>
#include <iostream>
#include <limits>
#include <string>

namespace {

using conclave::apps::whole_number;

// The mock and the CLI start through posix_spawnp or execvp, so a bare name is looked up in
// PATH; a path must exist.
std::string program_exists(const std::string& program) {
  if (program.find('/') == std::string::npos) return {};
  if (std::filesystem::is_regular_file(program)) return {};
  return "no such program: " + program;
}

// `name` beside this program (installed), else in this build tree (apps/NAME/NAME), else PATH.
std::string default_path(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path self = conclave::bench::self_path();
  for (const fs::path& p :
       {self.parent_path() / name, self.parent_path().parent_path() / name / name}) {
    if (fs::is_regular_file(p)) return p.string();
  }
  return name;
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace conclave::bench;
  worker_args worker;
  suite_options opts;
  std::string json_out = "conclave-bench.json";
  int latency_ms = static_cast<int>(opts.latency.count());
  bool quick = false;

  CLI::App app(
      "Runs the standard set against conclave-mock on loopback and prints a table and the\n"
      "targets.",
      "conclave-bench");
  app.set_version_flag("-V,--version", "conclave-bench " CONCLAVE_VERSION);
  app.footer(
      "Exit status: 0 measured (whether or not targets were met), 1 a measurement failed,\n"
      "2 bad usage.");
  const CLI::Validator positive = whole_number(1, std::numeric_limits<int>::max(), "POSITIVE");
  auto* latency = app.add_option("--latency-ms", latency_ms, "the mock's latency")
                      ->capture_default_str()
                      ->check(positive);
  app.add_flag("--quick", quick, "a small set: L=20 ms (unless --latency-ms), N <= 20, no L=2 s");
  app.add_option("--json-out", json_out, "also write the results as JSON")->capture_default_str();
  app.add_option("--dag-seed", opts.dag_seed, "draws the dag scenario's graph and latencies")
      ->capture_default_str()
      ->check(whole_number(0, std::numeric_limits<long long>::max(), "SEED"));
  app.add_option(
         "--scenario", opts.scenarios,
         "run only these (repeatable): fan-out, warm, pooled, stream, sequential, pipeline, cli, "
         "dag, tls, target, tools, serve, redis; default: all")
      ->check(CLI::IsMember(scenario_names()));
  auto* serve_n =
      app.add_option("--serve-n", opts.serve_n, "serve: tasks at once (and tasks queued)")
          ->capture_default_str()
          ->check(positive);
  app.add_option("--mock", opts.mock_path, "conclave-mock (default: in this build tree, else PATH)")
      ->check(CLI::Validator(program_exists, "PROGRAM"));
  app.add_option("--conclave", opts.conclave_path,
                 "cli: the conclave CLI (default: in this build tree, else PATH)")
      ->check(CLI::Validator(program_exists, "PROGRAM"));
  auto* cli_agents =
      app.add_option("--cli-agents", opts.cli_agents, "cli: agents for each run of conclave ask")
          ->capture_default_str()
          ->check(positive);
  // Internal: the suite re-runs this program as a worker for each measurement. Listed in a group
  // of their own rather than hidden, because CLI11 2.1.2 leaves a hidden option's name out of
  // its error messages.
  const std::string internal = "Internal (the suite runs each measurement as a worker)";
  auto* kind =
      app.add_option("--worker", worker.kind, "one measurement in this process")
          ->check(CLI::IsMember({"raw", "raw-warm", "stream", "stream-anthropic", "sequential",
                                 "pipeline", "dag", "serve", "serve-queued", "ask-pending"}))
          ->group(internal);
  app.add_option("--url", worker.url, "the mock's base URL")->group(internal)->needs(kind);
  app.add_option("--ca-file", worker.ca_file, "for https: the mock's CA")
      ->check(CLI::ExistingFile)
      ->group(internal)
      ->needs(kind);
  app.add_option("--tier-urls", worker.tier_urls, "dag: the mocks at L/2, L and 2L")
      ->expected(3)
      ->group(internal)
      ->needs(kind);
  app.add_option("--dag-depth", worker.depth, "dag: levels")
      ->check(positive)
      ->group(internal)
      ->needs(kind);
  app.add_option("--n", worker.n, "calls (pipeline: agents; dag: subtasks)")
      ->check(positive)
      ->group(internal)
      ->needs(kind);
  app.add_option("--max-connections", worker.max_connections, "the client's pool cap")
      ->check(positive)
      ->group(internal)
      ->needs(kind);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "conclave-bench: " << e.what() << "\nRun with --help for more information.\n";
    return 2;
  }
  const bool is_worker = kind->count() > 0;
  if (quick) {
    opts.latency = std::chrono::milliseconds(20);
    opts.fan_out = {1, 20};
    opts.small = {1, 10};
    opts.pipeline = {1, 4};
    if (cli_agents->count() == 0) opts.cli_agents = {1, 4};
    opts.speedup_n = 4;
    opts.pooled_n = 40;
    opts.warm_n = 10;
    opts.pooled_connections = 4;
    opts.target_run = false;
    opts.tool_turns = 10;
    if (serve_n->count() == 0) opts.serve_n = 20;
    opts.redis_checks = 2000;
    opts.redis_tasks = 100;
  }
  // An explicit latency wins over --quick's, whichever came first.
  if (latency->count() > 0 || !quick) opts.latency = std::chrono::milliseconds(latency_ms);

  if (is_worker) {
    worker.latency = opts.latency;
    worker.seed = opts.dag_seed;
    if (is_serve_worker(worker.kind)) return run_serve_worker(worker.kind, worker.url, worker.n);
    return run_worker(worker);
  }
  if (opts.mock_path.empty()) opts.mock_path = default_path("conclave-mock");
  if (opts.conclave_path.empty()) opts.conclave_path = default_path("conclave");
  const suite_result result = run_suite(opts);
  print_table(std::cout, result);
  write_json(json_out, result);
  std::cout << "results written to " << json_out << "\n";
  for (const auto& m : result.rows) {
    if (m.failed > 0) return 1;
  }
  if (result.serve && result.serve->failed > 0) return 1;
  if (result.redis && result.redis->failed > 0) return 1;
  for (const auto& f : result.cli) {
    if (!f.ok()) return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "conclave-bench: " << e.what() << "\n";
  return 1;
}
