// conclave-bench: the engine's cost per agent call and its parallel speedup, measured against
// conclave-mock on loopback. See README ("Benchmarks") for the standard set and the targets.
#include "child.hpp"
#include "report.hpp"
#include "suite.hpp"
#include "worker.hpp"

#include <charconv>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string_view>

namespace {

const char* const usage = R"(usage: conclave-bench [options]
Runs the standard set against conclave-mock on loopback and prints a table and the targets.
  --latency-ms L     the mock's latency (default 200)
  --quick            a small set (for a smoke test): L=20 ms, N up to 20, no L=1s run
  --json-out F       also write the results as JSON (default conclave-bench.json)
  --mock PATH        the conclave-mock program (default: beside this program's build dir)
Exit status: 0 measured (whether or not targets were met), 1 a measurement failed.
)";

int to_int(std::string_view flag, std::string_view text) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < 1) {
    throw std::invalid_argument(std::string(flag) + " needs a positive whole number");
  }
  return v;
}

std::string default_mock_path() {
  namespace fs = std::filesystem;
  const fs::path self = conclave::bench::self_path();
  for (const fs::path& p : {self.parent_path() / "conclave-mock",
                            self.parent_path().parent_path() / "conclave-mock" / "conclave-mock"}) {
    if (fs::exists(p)) return p.string();
  }
  return "conclave-mock";
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace conclave::bench;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  worker_args worker;
  bool is_worker = false;
  suite_options opts;
  std::string json_out = "conclave-bench.json";
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view flag = args[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= args.size()) throw std::invalid_argument(std::string(flag) + " needs a value");
      return args[++i];
    };
    if (flag == "--help" || flag == "-h") {
      std::cout << usage;
      return 0;
    } else if (flag == "--worker") {  // internal: one measurement in this process
      is_worker = true;
      worker.kind = std::string(value());
    } else if (flag == "--url")
      worker.url = std::string(value());
    else if (flag == "--ca-file")
      worker.ca_file = std::string(value());
    else if (flag == "--n")
      worker.n = to_int(flag, value());
    else if (flag == "--max-connections")
      worker.max_connections = to_int(flag, value());
    else if (flag == "--latency-ms")
      opts.latency = std::chrono::milliseconds(to_int(flag, value()));
    else if (flag == "--json-out")
      json_out = std::string(value());
    else if (flag == "--mock")
      opts.mock_path = std::string(value());
    else if (flag == "--quick") {
      opts.latency = std::chrono::milliseconds(20);
      opts.fan_out = {1, 20};
      opts.small = {1, 10};
      opts.pipeline = {4};
      opts.speedup_n = 4;
      opts.pooled_n = 40;
      opts.pooled_connections = 4;
      opts.target_run = false;
    } else {
      throw std::invalid_argument("unknown option " + std::string(flag) + " (see --help)");
    }
  }
  if (is_worker) return run_worker(worker);
  if (opts.mock_path.empty()) opts.mock_path = default_mock_path();
  const suite_result result = run_suite(opts);
  print_table(std::cout, result);
  write_json(json_out, result);
  std::cout << "results written to " << json_out << "\n";
  for (const auto& m : result.rows) {
    if (m.failed > 0) return 1;
  }
  return 0;
} catch (const std::invalid_argument& e) {
  std::cerr << "conclave-bench: " << e.what() << "\n" << usage;
  return 2;
} catch (const std::exception& e) {
  std::cerr << "conclave-bench: " << e.what() << "\n";
  return 1;
}
