#include "report.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdio>
#include <fstream>
#include <ostream>
#include <stdexcept>

namespace json = boost::json;

namespace conclave::bench {
namespace {

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string cell(double v, int decimals, bool present = true) {
  return present ? fixed(v, decimals) : "-";
}

double ratio(double a, double b) { return b > 0 ? a / b : 0; }

// Limits and the queue on Redis, each beside its peer.
void print_redis(std::ostream& out, const redis_figure& f) {
  char line[256];
  out << "\nredis (a redis-server on loopback, pinned to the mock's core):\n";
  std::snprintf(line, sizeof line, "  %-52s %12s\n", "limiter checks per second, one connection",
                ("depth " + std::to_string(f.depth)).c_str());
  out << line;
  std::snprintf(line, sizeof line, "  %-52s %12s\n", "conclave shared_limiter::async_reserve",
                fixed(f.checks_per_s, 0).c_str());
  out << line;
  std::snprintf(line, sizeof line, "  %-52s %12s\n",
                f.peer_checks_per_s > 0 ? f.peer_note.c_str() : "peer",
                f.peer_checks_per_s > 0 ? fixed(f.peer_checks_per_s, 0).c_str() : "-");
  out << line;
  if (f.peer_checks_per_s > 0) {
    std::snprintf(line, sizeof line, "  %-52s %11sx\n", "conclave / peer",
                  fixed(ratio(f.checks_per_s, f.peer_checks_per_s), 2).c_str());
    out << line;
  } else {
    out << "  (" << f.peer_note << ")\n";
  }
  std::snprintf(line, sizeof line, "  %-52s %9s %9s\n", "", "p50 ms", "p99 ms");
  out << line;
  const std::string claim = "task submit -> claim, 3 instances (" + std::to_string(f.tasks) +
                            " tasks, poll " + std::to_string(f.poll.count()) + " ms)";
  std::snprintf(line, sizeof line, "  %-52s %9s %9s\n", claim.c_str(),
                fixed(f.claim_p50_ms, 3).c_str(), fixed(f.claim_p99_ms, 3).c_str());
  out << line;
  std::snprintf(line, sizeof line, "  %-52s %9s %9s\n", "one round trip (PING), the floor",
                fixed(f.ping_p50_ms, 3).c_str(), fixed(f.ping_p99_ms, 3).c_str());
  out << line;
  if (f.failed > 0) out << "  failed: " << f.failed << " (" << f.first_error << ")\n";
}

// The task API beside the library: latencies, what serve adds, memory per queued task.
void print_serve(std::ostream& out, const serve_figure& f) {
  char line[256];
  out << "\nserve (" << f.n
      << " short tasks at once: agents=1, one call to a mock at L=" << f.latency.count()
      << " ms; latency from submit to done):\n";
  std::snprintf(line, sizeof line, "  %-44s %9s %9s %9s %5s\n", "", "p50 ms", "p99 ms", "wall ms",
                "ok");
  out << line;
  auto row = [&](const char* what, double p50, double p99, double wall, int ok) {
    std::snprintf(line, sizeof line, "  %-44s %9s %9s %9s %5d\n", what, fixed(p50, 2).c_str(),
                  fixed(p99, 2).c_str(), fixed(wall, 1).c_str(), ok);
    out << line;
  };
  row("library: async_ask (the peer)", f.library_p50_ms, f.library_p99_ms, f.library_wall_ms,
      f.library_ok);
  row("serve: POST /v1/tasks to the final SSE status", f.serve_p50_ms, f.serve_p99_ms,
      f.serve_wall_ms, f.serve_ok);
  std::snprintf(line, sizeof line, "  %-44s %9s %9s %9s\n", "added by serve (serve - library)",
                fixed(f.serve_p50_ms - f.library_p50_ms, 2).c_str(),
                fixed(f.serve_p99_ms - f.library_p99_ms, 2).c_str(),
                fixed(f.serve_wall_ms - f.library_wall_ms, 1).c_str());
  out << line;
  std::snprintf(line, sizeof line, "  %-44s %8sx %8sx %8sx\n", "serve / library",
                fixed(ratio(f.serve_p50_ms, f.library_p50_ms), 2).c_str(),
                fixed(ratio(f.serve_p99_ms, f.library_p99_ms), 2).c_str(),
                fixed(ratio(f.serve_wall_ms, f.library_wall_ms), 2).c_str());
  out << line;
  std::snprintf(line, sizeof line,
                "  CPU per task: library %s us; serve %s us (service) + %s us (HTTP clients) = "
                "%sx\n",
                fixed(f.library_cpu_us, 1).c_str(), fixed(f.serve_cpu_us, 1).c_str(),
                fixed(f.client_cpu_us, 1).c_str(),
                fixed(ratio(f.serve_cpu_us + f.client_cpu_us, f.library_cpu_us), 2).c_str());
  out << line;
  std::snprintf(line, sizeof line, "  %-44s %9s %9s\n", "memory", "RSS KiB", "heap KiB");
  out << line;
  std::snprintf(line, sizeof line, "  %-44s %9s %9s  (%d queued)\n", "per queued task (workers=1)",
                fixed(f.queued_rss_kib, 2).c_str(), fixed(f.queued_heap_kib, 2).c_str(), f.queued);
  out << line;
  std::snprintf(line, sizeof line, "  %-44s %9s %9s  (%d pending)\n",
                "per pending async_ask (the peer)", fixed(f.pending_rss_kib, 2).c_str(),
                fixed(f.pending_heap_kib, 2).c_str(), f.pending);
  out << line;
  out << "  (a queued task waits for a worker; a pending async_ask behind one call waits for the "
         "client's single connection; heap: malloc's bytes in use, mallinfo2)\n";
  if (f.failed > 0) out << "errors in serve: " << f.failed << ": " << f.first_error << "\n";
}

// The CLI's heavy pipeline by N, then its memory per agent beside the library's.
void print_cli(std::ostream& out, const suite_result& r) {
  char line[256];
  out << "\ncli (conclave ask --agents N --concurrency N, a process against the mock at L="
      << r.cli.front().latency.count() << " ms; ideal 3L, L at N=1):\n";
  std::snprintf(line, sizeof line, "  %6s %9s %7s %9s %9s %10s %9s %10s %9s\n", "N", "wall ms",
                "/ideal", "user ms", "sys ms", "peak KiB", "KiB/agnt", "user us/a", "sys us/a");
  out << line;
  for (const auto& f : r.cli) {
    if (!f.ok()) {
      std::snprintf(line, sizeof line, "  %6d  error: %s\n", f.n, f.error.c_str());
      out << line;
      continue;
    }
    const bool marginal = f.n > 1 && f.rss_per_agent_kib != 0;
    std::snprintf(line, sizeof line, "  %6d %9s %7s %9s %9s %10s %9s %10s %9s\n", f.n,
                  fixed(f.wall_ms, 1).c_str(), fixed(ratio(f.wall_ms, f.ideal_ms), 3).c_str(),
                  fixed(f.user_ms, 1).c_str(), fixed(f.sys_ms, 1).c_str(),
                  fixed(f.peak_rss_kib, 0).c_str(), cell(f.rss_per_agent_kib, 2, marginal).c_str(),
                  cell(f.user_per_agent_us, 1, marginal).c_str(),
                  cell(f.sys_per_agent_us, 1, marginal).c_str());
    out << line;
  }
  out << "  (wall: spawn to exit; per agent: marginal, (value at N - value at N=1) / (N-1))\n";
  // Beside the library's pipeline at the largest N both ran with a baseline at N=1.
  const cli_figure* cli = nullptr;
  const measurement* lib = nullptr;
  for (const auto& f : r.cli) {
    if (!f.ok() || f.n <= 1 || f.rss_per_agent_kib == 0 || (cli && cli->n > f.n)) continue;
    for (const auto& m : r.rows) {
      if (m.scenario == "pipeline" && m.n == f.n && m.latency == f.latency && m.failed == 0 &&
          m.rss_per_call_kib != 0) {
        cli = &f;
        lib = &m;
      }
    }
  }
  if (cli && lib) {
    std::snprintf(line, sizeof line,
                  "  heavy mode RSS per agent, N=%d: library %s KiB (async_ask in a worker, "
                  "agents' replies whole), CLI %s KiB (conclave ask, replies streamed)\n",
                  cli->n, fixed(lib->rss_per_call_kib, 2).c_str(),
                  fixed(cli->rss_per_agent_kib, 2).c_str());
    out << line;
  }
}

}  // namespace

void print_table(std::ostream& out, const suite_result& r) {
  char line[256];
  std::snprintf(line, sizeof line, "%-16s %6s %5s %9s %7s %9s %9s %8s %9s %8s %8s %6s %8s %7s\n",
                "scenario", "N", "L ms", "wall ms", "/ideal", "proc ms", "cpu us/c", "rss MiB",
                "KiB/call", "p50 +ms", "p99 +ms", "conns", "mock us", "errors");
  if (!r.rows.empty()) out << line;  // none when --scenario picked only tools or serve
  for (const auto& m : r.rows) {
    const bool marginal = m.n > 1 && m.cpu_per_call_us != 0;
    std::snprintf(line, sizeof line,
                  "%-16s %6d %5lld %9s %7s %9s %9s %8s %9s %8s %8s %6llu %8s %7d\n",
                  m.scenario.c_str(), m.n, static_cast<long long>(m.latency.count()),
                  fixed(m.wall_ms, 1).c_str(), fixed(m.wall_ms / m.ideal_ms, 3).c_str(),
                  fixed(m.process_wall_ms, 1).c_str(), cell(m.cpu_per_call_us, 1, marginal).c_str(),
                  fixed(m.peak_rss_kib / 1024.0, 1).c_str(),
                  cell(m.rss_per_call_kib, 2, marginal && m.scenario != "warm").c_str(),
                  fixed(m.p50_overhead_ms, 2).c_str(), fixed(m.p99_overhead_ms, 2).c_str(),
                  static_cast<unsigned long long>(m.connections),
                  fixed(m.mock_cpu_per_request_us, 1).c_str(), m.failed);
    out << line;
  }
  if (!r.rows.empty())
    out << "(cpu us/c and KiB/call are marginal: (value at N - value at N=1) / (N-1), client "
           "process only; warm: its second round's CPU / N, on the connections the first "
           "left open; mock us: the mock's CPU per request; p50/p99: client-observed latency "
           "- L; dag: wall is the plan's fan-out wall, its ideal the critical path, p50/p99 over "
           "each subtask's own latency)\n";
  for (const auto& m : r.rows) {
    if (m.failed > 0)
      out << "errors in " << m.scenario << " N=" << m.n << ": " << m.first_error << "\n";
  }
  if (!r.targets.empty()) out << "\ntargets:\n";
  for (const auto& t : r.targets) {
    std::snprintf(line, sizeof line, "  %-50s %10s %-3s (%s %s)  %s\n", t.name.c_str(),
                  fixed(t.value, 2).c_str(), t.unit.c_str(),
                  t.lower_is_better ? "<=" : ">=", fixed(t.limit, 1).c_str(),
                  t.met() ? "met" : "MISSED");
    out << line;
  }
  if (!r.tools.empty())
    out << "\ntools (conclave's own cost per tool call; the tool does nothing):\n";
  for (const auto& t : r.tools) {
    std::snprintf(line, sizeof line,
                  "  %-18s %6d calls  %9s us/call through agents' loops, %9s us/call %s (%sx)\n",
                  t.what.c_str(), t.calls, fixed(t.loop_us, 2).c_str(), fixed(t.peer_us, 2).c_str(),
                  t.peer.c_str(), fixed(t.peer_us > 0 ? t.loop_us / t.peer_us : 0, 1).c_str());
    out << line;
  }
  if (r.serve) print_serve(out, *r.serve);
  if (r.redis) print_redis(out, *r.redis);
  if (!r.cli.empty()) print_cli(out, r);
  for (const auto& n : r.notes) out << "note: " << n << "\n";
}

void write_json(const std::string& path, const suite_result& r) {
  json::array rows;
  for (const auto& m : r.rows) {
    rows.push_back(json::object{{"scenario", m.scenario},
                                {"n", m.n},
                                {"latency_ms", m.latency.count()},
                                {"ok", m.ok},
                                {"failed", m.failed},
                                {"wall_ms", m.wall_ms},
                                {"ideal_ms", m.ideal_ms},
                                {"wall_over_ideal", m.wall_ms / m.ideal_ms},
                                {"process_wall_ms", m.process_wall_ms},
                                {"client_cpu_us", m.cpu_us},
                                {"client_cpu_per_call_us_marginal", m.cpu_per_call_us},
                                {"client_user_per_call_us_marginal", m.user_per_call_us},
                                {"client_sys_per_call_us_marginal", m.sys_per_call_us},
                                {"peak_rss_kib", m.peak_rss_kib},
                                {"rss_per_call_kib_marginal", m.rss_per_call_kib},
                                {"p50_overhead_ms", m.p50_overhead_ms},
                                {"p99_overhead_ms", m.p99_overhead_ms},
                                {"connections_opened", m.connections},
                                {"mock_cpu_per_request_us", m.mock_cpu_per_request_us}});
    // warm's CPU per call is its second round's own CPU / N, not a marginal (README).
    if (m.scenario == "warm") {
      rows.back().as_object()["cpu_per_call_basis"] = "second_round";
      // 0: not counted (a sanitizer's build owns malloc).
      auto& count = rows.back().as_object()["allocations_per_call"];
      if (m.allocations_per_call > 0) count = m.allocations_per_call;
    }
    if (m.scenario == "dag") {
      auto& row = rows.back().as_object();
      row["critical_path_ms"] = m.ideal_ms;
      row["superstep_bound_ms"] = m.superstep_ms;
      row["superstep_over_critical_path"] = m.superstep_ms / m.ideal_ms;
      row["run_wall_ms"] = m.run_wall_ms;
      row["measured_critical_path_ms"] = m.observed_path_ms;
    }
  }
  json::array targets;
  for (const auto& t : r.targets) {
    targets.push_back(json::object{{"name", t.name},
                                   {"value", t.value},
                                   {"limit", t.limit},
                                   {"unit", t.unit},
                                   {"met", t.met()}});
  }
  json::array notes;
  for (const auto& n : r.notes) notes.emplace_back(n);
  json::array tools;
  for (const auto& t : r.tools) {
    tools.push_back(json::object{{"what", t.what},
                                 {"calls", t.calls},
                                 {"loop_us_per_call", t.loop_us},
                                 {"peer_us_per_call", t.peer_us},
                                 {"peer", t.peer}});
  }
  json::array cli;
  for (const auto& f : r.cli) {
    cli.push_back(json::object{{"n", f.n},
                               {"latency_ms", f.latency.count()},
                               {"ok", f.ok()},
                               {"error", f.error},
                               {"process_wall_ms", f.wall_ms},
                               {"ideal_ms", f.ideal_ms},
                               {"wall_over_ideal", ratio(f.wall_ms, f.ideal_ms)},
                               {"user_ms", f.user_ms},
                               {"sys_ms", f.sys_ms},
                               {"peak_rss_kib", f.peak_rss_kib},
                               {"rss_per_agent_kib_marginal", f.rss_per_agent_kib},
                               {"user_us_per_agent_marginal", f.user_per_agent_us},
                               {"sys_us_per_agent_marginal", f.sys_per_agent_us},
                               {"mock_completions", f.completions}});
  }
  json::object all{
      {"rows", rows}, {"targets", targets}, {"notes", notes}, {"tools", tools}, {"cli", cli}};
  if (const auto& s = r.serve) {
    all["serve"] = json::object{{"n", s->n},
                                {"latency_ms", s->latency.count()},
                                {"library_ok", s->library_ok},
                                {"serve_ok", s->serve_ok},
                                {"failed", s->failed},
                                {"library_p50_ms", s->library_p50_ms},
                                {"library_p99_ms", s->library_p99_ms},
                                {"library_wall_ms", s->library_wall_ms},
                                {"serve_p50_ms", s->serve_p50_ms},
                                {"serve_p99_ms", s->serve_p99_ms},
                                {"serve_wall_ms", s->serve_wall_ms},
                                {"library_cpu_us_per_task", s->library_cpu_us},
                                {"serve_cpu_us_per_task", s->serve_cpu_us},
                                {"client_cpu_us_per_task", s->client_cpu_us},
                                {"added_p50_ms", s->serve_p50_ms - s->library_p50_ms},
                                {"added_p99_ms", s->serve_p99_ms - s->library_p99_ms},
                                {"ratio_p50", ratio(s->serve_p50_ms, s->library_p50_ms)},
                                {"ratio_p99", ratio(s->serve_p99_ms, s->library_p99_ms)},
                                {"queued", s->queued},
                                {"rss_kib_per_queued_task", s->queued_rss_kib},
                                {"heap_kib_per_queued_task", s->queued_heap_kib},
                                {"pending", s->pending},
                                {"rss_kib_per_pending_ask", s->pending_rss_kib},
                                {"heap_kib_per_pending_ask", s->pending_heap_kib}};
    if (!s->first_error.empty()) all["serve"].as_object()["first_error"] = s->first_error;
  }
  if (const auto& d = r.redis) {
    all["redis"] = json::object{{"checks", d->checks},
                                {"depth", d->depth},
                                {"checks_per_s", d->checks_per_s},
                                {"peer_checks_per_s", d->peer_checks_per_s},
                                {"peer", d->peer_note},
                                {"ratio_to_peer", ratio(d->checks_per_s, d->peer_checks_per_s)},
                                {"tasks", d->tasks},
                                {"poll_ms", d->poll.count()},
                                {"claim_p50_ms", d->claim_p50_ms},
                                {"claim_p99_ms", d->claim_p99_ms},
                                {"ping_p50_ms", d->ping_p50_ms},
                                {"ping_p99_ms", d->ping_p99_ms},
                                {"failed", d->failed}};
  }
  std::ofstream f(path);
  f << json::serialize(all) << "\n";
  if (!f) throw std::runtime_error("cannot write " + path);
}

}  // namespace conclave::bench
