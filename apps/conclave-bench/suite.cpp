#include "suite.hpp"

#include "child.hpp"
#include "cli_bench.hpp"
#include "dag.hpp"
#include "mock_process.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <sys/resource.h>

namespace json = boost::json;

namespace conclave::bench {
namespace {

// One worker process (`args` after "--worker") for one measurement against `mocks`: the
// figures every scenario has. `o` gets the worker's JSON line for the rest; ideal_ms is left
// to the caller.
measurement run_measurement(const std::vector<const mock_process*>& mocks,
                            const std::string& scenario, int n, std::chrono::milliseconds latency,
                            const std::vector<std::string>& args, json::object& o) {
  const auto before = load_of(mocks);
  child worker(self_path(), args);
  worker.pin(bench_cpu_for_client());
  const std::string line = worker.read_all();
  const auto exit = worker.wait();
  const auto after = load_of(mocks);

  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  if (ec || !v.is_object() || exit.code != 0) {
    throw std::runtime_error(scenario + " N=" + std::to_string(n) + ": the worker failed (exit " +
                             std::to_string(exit.code) + "): " + line);
  }
  o = std::move(v.as_object());
  measurement m;
  m.scenario = scenario;
  m.n = n;
  m.latency = latency;
  m.ok = static_cast<int>(number(o, "ok"));
  m.failed = static_cast<int>(number(o, "failed"));
  if (auto* e = o.if_contains("first_error")) m.first_error = std::string(e->as_string());
  const double l_ms = static_cast<double>(latency.count());
  m.wall_ms = number(o, "wall_us") / 1000.0;
  m.process_wall_ms = static_cast<double>(exit.wall.count()) / 1000.0;
  m.cpu_us = static_cast<double>(exit.cpu.count());
  m.user_us = static_cast<double>(exit.user.count());
  m.sys_us = static_cast<double>(exit.sys.count());
  if (o.contains("round_user_us") && n > 0) {  // the worker measured one round itself (warm)
    m.user_per_call_us = number(o, "round_user_us") / n;
    m.sys_per_call_us = number(o, "round_sys_us") / n;
    m.cpu_per_call_us = m.user_per_call_us + m.sys_per_call_us;
    if (o.contains("round_allocations"))
      m.allocations_per_call = number(o, "round_allocations") / n;
  }
  m.peak_rss_kib = number(o, "peak_rss_kib");  // the worker's own (child.hpp's peak_rss_kib)
  // A worker whose calls have latencies of their own (dag) reports the overheads itself.
  if (o.contains("p50_overhead_us")) {
    m.p50_overhead_ms = number(o, "p50_overhead_us") / 1000.0;
    m.p99_overhead_ms = number(o, "p99_overhead_us") / 1000.0;
  } else {
    m.p50_overhead_ms = number(o, "p50_us") / 1000.0 - l_ms;
    m.p99_overhead_ms = number(o, "p99_us") / 1000.0 - l_ms;
  }
  m.connections = static_cast<std::uint64_t>(number(o, "connections_opened"));
  // Requests the mocks served for this measurement, less our own stats requests.
  const double served = after.requests - before.requests - static_cast<double>(mocks.size());
  m.mock_cpu_per_request_us = served > 0 ? (after.cpu_us - before.cpu_us) / served : 0;
  return m;
}

// One worker process for one measurement.
measurement measure(const mock_process& mock, const std::string& scenario, const std::string& kind,
                    int n, std::chrono::milliseconds latency, int max_connections = 0) {
  std::vector<std::string> args{"--worker", kind, "--url", mock.url(), "--n", std::to_string(n)};
  if (max_connections > 0)
    args.insert(args.end(), {"--max-connections", std::to_string(max_connections)});
  if (!mock.ca_file().empty()) args.insert(args.end(), {"--ca-file", mock.ca_file()});
  json::object o;
  measurement m = run_measurement({&mock}, scenario, n, latency, args, o);
  const double l_ms = static_cast<double>(latency.count());
  m.ideal_ms = kind == "sequential"  ? l_ms * n
               : kind == "pipeline"  ? (n == 1 ? l_ms : 3 * l_ms)  // one agent asks directly
               : max_connections > 0 ? l_ms * ((n + max_connections - 1) / max_connections)
                                     : l_ms;
  return m;
}

// The dag scenario against three mocks, at L/2, L and 2L: its fan-out wall against the
// critical path of the scripted latencies (the ideal), and a superstep executor's bound.
measurement measure_dag(const std::vector<const mock_process*>& tiers, const dag_options& d,
                        std::chrono::milliseconds latency) {
  std::vector<std::string> args{"--worker",     "dag",
                                "--n",          std::to_string(d.subtasks),
                                "--dag-depth",  std::to_string(d.depth),
                                "--dag-seed",   std::to_string(d.seed),
                                "--latency-ms", std::to_string(latency.count()),
                                "--tier-urls"};
  for (const auto* t : tiers) args.push_back(t->url());
  json::object o;
  measurement m = run_measurement(tiers, "dag", d.subtasks, latency, args, o);
  const auto g = make_dag(d);
  const auto scripted = scripted_latencies(g, latency);
  auto ms = [](std::chrono::microseconds us) { return static_cast<double>(us.count()) / 1000.0; };
  m.ideal_ms = ms(critical_path(g, scripted));
  m.superstep_ms = ms(superstep_bound(g, scripted));
  m.run_wall_ms = number(o, "run_wall_us") / 1000.0;
  m.observed_path_ms = number(o, "observed_path_us") / 1000.0;
  return m;
}

// Marginal figures against the same scenario and latency at N = 1.
void add_marginals(std::vector<measurement>& rows) {
  for (auto& m : rows) {
    if (m.n <= 1) continue;
    for (const auto& base : rows) {
      if (base.n == 1 && base.scenario == m.scenario && base.latency == m.latency) {
        m.cpu_per_call_us = (m.cpu_us - base.cpu_us) / (m.n - 1);
        m.user_per_call_us = (m.user_us - base.user_us) / (m.n - 1);
        m.sys_per_call_us = (m.sys_us - base.sys_us) / (m.n - 1);
        m.rss_per_call_kib = (m.peak_rss_kib - base.peak_rss_kib) / (m.n - 1);
      }
    }
  }
}

// Descriptors: each in-flight call holds a socket in the worker and in the mock.
int open_file_cap(std::vector<std::string>& notes) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1 << 30;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);  // children inherit it
  }
  const long cap = static_cast<long>(lim.rlim_cur) - 64;
  if (cap < 10'000) {
    notes.push_back("the open-file limit (" + std::to_string(lim.rlim_cur) + ") caps N at " +
                    std::to_string(cap) + " on this machine");
  }
  return static_cast<int>(std::max(1L, cap));
}

std::string fixed(double v, int decimals = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

const measurement* find(const std::vector<measurement>& rows, const std::string& scenario, int n,
                        std::chrono::milliseconds latency) {
  for (const auto& m : rows) {
    if (m.scenario == scenario && m.n == n && m.latency == latency) return &m;
  }
  return nullptr;
}

// Heavy mode's memory per agent (library and CLI) and the CLI's wall, at the largest N run
// when that reaches `heavy_n` (2048 unless the open-file limit caps it), named in the text.
void add_heavy_targets(suite_result& out, int heavy_n, std::chrono::milliseconds latency) {
  int lib_n = 0;
  for (const auto& m : out.rows) {
    if (m.scenario == "pipeline" && m.latency == latency && m.failed == 0)
      lib_n = std::max(lib_n, m.n);
  }
  const auto* lib = find(out.rows, "pipeline", lib_n, latency);
  const auto* lib_base = find(out.rows, "pipeline", 1, latency);
  if (lib && lib_base && lib_base->failed == 0 && lib_n >= heavy_n) {
    out.targets.push_back({"heavy mode (library) RSS per agent, N=" + std::to_string(lib_n),
                           lib->rss_per_call_kib, 8, "KiB"});
  }
  const cli_figure* cli = nullptr;
  bool cli_base = false;
  for (const auto& f : out.cli) {
    if (!f.ok() || f.latency != latency) continue;
    if (f.n == 1) cli_base = true;
    if (!cli || f.n > cli->n) cli = &f;
  }
  if (cli && cli->n >= heavy_n) {
    const std::string n = "N=" + std::to_string(cli->n);
    if (cli_base) {
      out.targets.push_back(
          {"heavy mode (CLI) RSS per agent, " + n, cli->rss_per_agent_kib, 8, "KiB"});
    }
    out.targets.push_back({"heavy mode (CLI) " + n + ": process wall / ideal (3L)",
                           cli->wall_ms / cli->ideal_ms, 1.5, "x"});
  }
}

}  // namespace

const std::vector<std::string>& scenario_names() {
  static const std::vector<std::string> names = {
      "fan-out", "warm", "pooled", "stream", "sequential", "pipeline", "cli",
      "dag",     "tls",  "target", "tools",  "serve",      "redis"};
  return names;
}

bool suite_options::runs(const std::string& scenario) const {
  return scenarios.empty() ||
         std::find(scenarios.begin(), scenarios.end(), scenario) != scenarios.end();
}

suite_result run_suite(const suite_options& opts) {
  suite_result out;
  const int cap = open_file_cap(out.notes);
  auto capped = [&](int n) { return std::min(n, cap); };
  const auto L = opts.latency;
  auto say = [](const std::string& what) { std::cerr << "conclave-bench: " << what << std::endl; };
  if (opts.runs("fan-out") || opts.runs("warm") || opts.runs("pooled") || opts.runs("stream") ||
      opts.runs("sequential") || opts.runs("pipeline") || opts.runs("cli")) {
    mock_process plain(opts.mock_path, L, false);
    for (int n : opts.runs("fan-out") ? opts.fan_out : std::vector<int>{}) {
      say("fan-out N=" + std::to_string(capped(n)));
      out.rows.push_back(measure(plain, "fan-out", "raw", capped(n), L));
    }
    if (opts.warm_n > 0 && opts.runs("warm")) {
      say("warm N=" + std::to_string(capped(opts.warm_n)) + ", twice on the same connections");
      out.rows.push_back(measure(plain, "warm", "raw-warm", capped(opts.warm_n), L));
    }
    if (opts.pooled_n > 0 && opts.runs("pooled")) {
      say("pooled N=" + std::to_string(opts.pooled_n) + " over " +
          std::to_string(opts.pooled_connections) + " connections");
      out.rows.push_back(measure(plain, "pooled", "raw", 1, L, 1));
      out.rows.push_back(
          measure(plain, "pooled", "raw", opts.pooled_n, L, opts.pooled_connections));
    }
    for (int n : opts.runs("stream") ? opts.small : std::vector<int>{}) {
      say("stream N=" + std::to_string(capped(n)));
      out.rows.push_back(measure(plain, "stream", "stream", capped(n), L));
      say("stream (Anthropic wire) N=" + std::to_string(capped(n)));
      out.rows.push_back(measure(plain, "stream-anthropic", "stream-anthropic", capped(n), L));
    }
    if (opts.runs("sequential")) {
      if (!find(out.rows, "fan-out", opts.speedup_n, L)) {
        out.rows.push_back(measure(plain, "fan-out", "raw", opts.speedup_n, L));
      }
      say("sequential N=" + std::to_string(opts.speedup_n));
      out.rows.push_back(measure(plain, "sequential", "sequential", opts.speedup_n, L));
    }
    for (int n : opts.runs("pipeline") ? opts.pipeline : std::vector<int>{}) {
      say("pipeline N=" + std::to_string(capped(n)));
      out.rows.push_back(measure(plain, "pipeline", "pipeline", capped(n), L));
    }
    if (opts.runs("cli")) {
      // Early, while the bench holds little: a forked CLI's ru_maxrss carries the bench's
      // anonymous pages, and its own peak must stand above them (cli_bench.cpp).
      std::vector<int> agents;
      for (int n : opts.cli_agents) agents.push_back(capped(n));
      out.cli = run_cli_bench(opts.conclave_path, plain, agents, L, out.notes);
    }
  }
  const dag_options dag{
      .subtasks = opts.dag_subtasks, .depth = opts.dag_depth, .seed = opts.dag_seed};
  if (dag.subtasks > 0 && opts.runs("dag")) {
    // One mock per latency tier: the router sends each subtask to its tier's mock.
    const auto tier = dag_tiers(L);
    mock_process half(opts.mock_path, tier[0], false);
    mock_process single(opts.mock_path, tier[1], false);
    mock_process twice(opts.mock_path, tier[2], false);
    say("dag: " + std::to_string(dag.subtasks) + " subtasks in " + std::to_string(dag.depth) +
        " levels");
    out.rows.push_back(measure_dag({&half, &single, &twice}, dag, L));
  }
  if (opts.runs("tls")) {
    mock_process tls(opts.mock_path, L, true);
    for (int n : opts.small) {
      say("tls N=" + std::to_string(capped(n)));
      out.rows.push_back(measure(tls, "tls", "raw", capped(n), L));
    }
  }
  // The targets' workload, as the peers were measured: 10,000 calls at once at L = 2 s.
  const std::chrono::milliseconds target_latency(2000);
  if (opts.target_run && opts.runs("target")) {
    mock_process slow(opts.mock_path, target_latency, false);
    for (int n : {1, 10'000}) {
      say("fan-out N=" + std::to_string(capped(n)) + " at L=2s");
      out.rows.push_back(measure(slow, "fan-out", "raw", capped(n), target_latency));
    }
  }
  add_marginals(out.rows);
  if (!opts.small.empty()) {
    // The two wire formats side by side: the same mock, the same calls, streamed.
    const int n = capped(opts.small.back());
    const auto* o = find(out.rows, "stream", n, L);
    const auto* a = find(out.rows, "stream-anthropic", n, L);
    if (o && a && n > 1) {
      out.notes.push_back("client CPU per streamed call, N=" + std::to_string(n) +
                          ": OpenAI wire " + std::to_string(o->cpu_per_call_us) +
                          " us, Anthropic wire " + std::to_string(a->cpu_per_call_us) + " us");
    }
  }
  if (const auto* d = find(out.rows, "dag", dag.subtasks, L); d && d->ideal_ms > 0) {
    const auto tier = dag_tiers(L);
    out.notes.push_back(
        "dag: " + std::to_string(dag.subtasks) + " subtasks in " + std::to_string(dag.depth) +
        " levels (seed " + std::to_string(dag.seed) +
        "), each 1-3 dependencies on the level "
        "above, latencies " +
        std::to_string(tier[0].count()) + "/" + std::to_string(tier[1].count()) + "/" +
        std::to_string(tier[2].count()) + " ms, all at once if ready: fan-out wall " +
        fixed(d->wall_ms) + " ms against a " + "critical path of " + fixed(d->ideal_ms) +
        " ms: wall / critical path " + fixed(d->wall_ms / d->ideal_ms, 3) + " (1.0 is ideal)");
    out.notes.push_back("dag: superstep bound (sum of each level's slowest) " +
                        fixed(d->superstep_ms) +
                        " ms = " + fixed(d->superstep_ms / d->ideal_ms, 2) +
                        "x the critical path; critical path by the agents' measured latencies " +
                        fixed(d->observed_path_ms) + " ms; run wall with the combine call " +
                        fixed(d->run_wall_ms) + " ms");
  }
  if (opts.runs("tools")) {
    std::vector<std::string> mcp_server = opts.mcp_server;
    if (mcp_server.empty()) mcp_server = {opts.mock_path, "--mcp-stdio"};
    say("tools: " + std::to_string(opts.tool_agents) + " agents x " +
        std::to_string(opts.tool_turns) + " turns x " + std::to_string(opts.tool_calls_per_turn) +
        " calls");
    out.tools =
        run_tools_bench(opts.tool_agents, opts.tool_turns, opts.tool_calls_per_turn, mcp_server);
  }
  if (opts.serve_n > 0 && opts.runs("serve")) {
    // Each task holds three sockets in the worker: its client's, the server's, the model call's.
    const int n = std::min(opts.serve_n, std::max(1, cap / 3));
    say("serve: " + std::to_string(n) + " tasks at once and " + std::to_string(n) + " queued");
    out.serve = run_serve_bench(opts.mock_path, n, opts.serve_latency);
  }

  if (opts.redis_checks > 0 && opts.runs("redis")) {
    say("redis: " + std::to_string(opts.redis_checks) + " limiter checks, " +
        std::to_string(opts.redis_tasks) + " tasks through three instances");
    out.redis =
        run_redis_bench(opts.redis_checks, opts.redis_depth, opts.redis_tasks, opts.redis_poll);
  }

  if (const auto* big = find(out.rows, "fan-out", capped(10'000), target_latency)) {
    out.targets.push_back({"10k concurrent calls, L=2s: wall / L",
                           big->wall_ms / static_cast<double>(target_latency.count()), 1.5, "x"});
    out.targets.push_back({"client CPU per call (marginal)", big->cpu_per_call_us, 30, "us"});
    out.targets.push_back({"RSS per in-flight call (marginal)", big->rss_per_call_kib, 8, "KiB"});
    out.notes.push_back("client CPU per call (10k at L=2s, marginal): user " +
                        fixed(big->user_per_call_us) + " us, kernel " +
                        fixed(big->sys_per_call_us) +
                        " us (a fresh connection each: socket, connect, close; on loopback the "
                        "kernel's part includes the server's half of the TCP work, run inside "
                        "the client's connect and send calls; the warm row, on open connections, "
                        "leaves the connections' part out)");
    out.notes.push_back("mock CPU per request with a fresh connection each (10k at L=2s): " +
                        fixed(big->mock_cpu_per_request_us) + " us");
  }
  if (const auto* warm = find(out.rows, "warm", capped(opts.warm_n), L)) {
    // The figure was net of start-up; a host that stays up pays the connection once.
    // A target only at the N >= 512: a few calls' CPU is within the clock's tick.
    if (warm->n >= 512 && warm->failed == 0) {
      out.targets.push_back(
          {"client CPU per call, connections open (warm, N=" + std::to_string(warm->n) + ")",
           warm->cpu_per_call_us, 30, "us"});
      if (warm->allocations_per_call > 0) {  // 0: not counted (a sanitizer's build)
        out.targets.push_back(
            {"allocations per call, connections open (warm, N=" + std::to_string(warm->n) + ")",
             warm->allocations_per_call, 20, "/call"});
      }
    }
    out.notes.push_back(
        "client CPU per call on open connections (second round of " + std::to_string(warm->n) +
        " at once): user " + fixed(warm->user_per_call_us) + " us, kernel " +
        fixed(warm->sys_per_call_us) +
        " us; connections opened over both rounds: " + std::to_string(warm->connections) + " (" +
        std::to_string(warm->n) + " when all reused); heap allocations per call " +
        fixed(warm->allocations_per_call) + " (the harness building each request included)");
  }
  if (const auto* pooled = find(out.rows, "pooled", opts.pooled_n, L)) {
    out.targets.push_back(
        {"mock CPU per request (keep-alive)", pooled->mock_cpu_per_request_us, 20, "us"});
  }
  if (const auto* p = find(out.rows, "pipeline", 64, L); p && L == std::chrono::milliseconds(200)) {
    out.targets.push_back({"pipeline N=64, L=200ms: process wall", p->process_wall_ms, 630, "ms"});
  }
  add_heavy_targets(out, capped(2048), L);
  const auto* par = find(out.rows, "fan-out", opts.speedup_n, L);
  const auto* seq = find(out.rows, "sequential", opts.speedup_n, L);
  if (par && seq && par->wall_ms > 0) {
    const double speedup = seq->wall_ms / par->wall_ms;
    if (opts.speedup_n == 8) {
      out.targets.push_back({"speedup against sequential, N=8", speedup, 7, "x", false});
    } else {
      out.notes.push_back("speedup against sequential, N=" + std::to_string(opts.speedup_n) + ": " +
                          std::to_string(speedup) + "x");
    }
  }
  return out;
}

}  // namespace conclave::bench
