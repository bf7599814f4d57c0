#include "worker.hpp"

#include "allocation_count.hpp"
#include "child.hpp"
#include "dag.hpp"

#include <conclave/anthropic/anthropic_model.hpp>
#include <conclave/engine/ask.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/router_model.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/openai_model.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <sys/resource.h>
#include <vector>

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using std::chrono::microseconds;

namespace conclave::bench {
namespace {

struct tally {
  std::vector<microseconds> latencies;  // per call, client-observed
  int ok = 0;
  int failed = 0;
  std::string first_error;
  microseconds wall{0};

  void record(const boost::system::error_code& ec, const chat_response& r, microseconds latency) {
    latencies.push_back(latency);
    if (!ec) {
      ++ok;
    } else {
      ++failed;
      if (first_error.empty()) first_error = error_id(ec) + ": " + r.diag.message;
    }
  }
};

// Built as a host would that counts its allocations (the warm figure includes these): the
// text, its part and the message list, once each.
chat_request request(int i, bool stream) {
  chat_request r;
  r.stream = stream;
  const std::string_view head = "Benchmark call ", tail = ": is the engine fast?";
  std::array<char, 16> digits{};
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), i).ptr;
  std::string text;
  text.reserve(head.size() + static_cast<std::size_t>(end - digits.data()) + tail.size());
  text.append(head).append(digits.data(), end).append(tail);
  r.messages.reserve(1);
  r.messages.emplace_back(role::user, std::move(text));
  return r;
}

// All N at once; the io_context runs until the last completes.
void concurrent_calls(asio::io_context& io, model& m, int n, bool stream, tally& t) {
  const auto t0 = clock_type::now();
  // Started from a handler on the io_context, as a host starts its calls (the client then
  // takes the first step at once rather than posting it: see http client_call.cpp).
  asio::post(io, [&] {
    for (int i = 0; i < n; ++i) {
      const auto start = clock_type::now();
      m.async_complete(
          request(i, stream), nullptr, [&t, start](boost::system::error_code ec, chat_response r) {
            t.record(ec, r, std::chrono::duration_cast<microseconds>(clock_type::now() - start));
          });
    }
  });
  io.run();
  t.wall = std::chrono::duration_cast<microseconds>(clock_type::now() - t0);
}

// This process's user and system CPU so far.
std::pair<microseconds, microseconds> own_cpu() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto us = [](const timeval& t) { return microseconds(t.tv_sec * 1'000'000LL + t.tv_usec); };
  return {us(u.ru_utime), us(u.ru_stime)};
}

// Two rounds of N at once, the second on the connections the first left open, as a host that
// stays up (serve) calls its provider: the second round's figures, and its CPU in `extra`.
void warm_calls(asio::io_context& io, model& m, int n, tally& t, boost::json::object& extra) {
  tally warm_up;
  concurrent_calls(io, m, n, false, warm_up);
  io.restart();
  const auto [user0, sys0] = own_cpu();
  const auto allocations0 = allocations_so_far();
  concurrent_calls(io, m, n, false, t);
  const auto allocations1 = allocations_so_far();
  const auto [user1, sys1] = own_cpu();
  extra["round_user_us"] = (user1 - user0).count();
  extra["round_sys_us"] = (sys1 - sys0).count();
  if (allocations0 && allocations1) extra["round_allocations"] = *allocations1 - *allocations0;
  if (warm_up.failed > 0) {  // a failed warm-up fails the measurement
    t.failed += warm_up.failed;
    if (t.first_error.empty()) t.first_error = "warm-up: " + warm_up.first_error;
  }
}

// One after another: each call starts when the previous one completed.
void sequential_calls(asio::io_context& io, model& m, int n, tally& t) {
  const auto t0 = clock_type::now();
  std::function<void(int)> next = [&](int i) {
    if (i == n) return;
    const auto start = clock_type::now();
    m.async_complete(
        request(i, false), nullptr, [&, i, start](boost::system::error_code ec, chat_response r) {
          t.record(ec, r, std::chrono::duration_cast<microseconds>(clock_type::now() - start));
          next(i + 1);
        });
  };
  next(0);
  io.run();
  t.wall = std::chrono::duration_cast<microseconds>(clock_type::now() - t0);
}

// The heavy pipeline: decompose into N, N agents at once, synthesize.
void pipeline(asio::io_context& io, model& m, int n, tally& t) {
  engine e(io.get_executor(), m);
  e.set_single_threaded(true);  // io_context(1), as a single-threaded host would say
  ask_options o;
  o.agents = n;
  o.max_concurrency = n;
  o.stream = false;
  const auto t0 = clock_type::now();
  async_ask(e, "How should a city cut traffic deaths?", o,
            [&](boost::system::error_code ec, run_report r) {
              for (const auto& a : r.agents) {
                t.record(a.status == agent_status::ok ? boost::system::error_code{} : a.error,
                         chat_response{}, a.latency);
              }
              if (ec && t.first_error.empty()) t.first_error = error_id(ec);
            });
  io.run();
  t.wall = std::chrono::duration_cast<microseconds>(clock_type::now() - t0);
}

// A plan shaped like a DAG (dag.hpp), each subtask sent through a router to the mock at its
// tier's latency. `t` gets each agent's overhead over its scripted latency and the fan-out wall
// (the combine call left out); `extra` the run's wall and the critical path as measured (each
// agent's own model-call time summed along the longest path).
void dag(asio::io_context& io, http::client& client, const worker_args& args, tally& t,
         boost::json::object& extra) {
  if (args.tier_urls.size() != dag_tier_count) {
    throw std::invalid_argument("dag: --tier-urls needs the mocks at L/2, L and 2L");
  }
  std::vector<std::unique_ptr<openai::openai_model>> tiers;
  std::vector<router_model::provider> providers;
  for (std::size_t i = 0; i < dag_tier_count; ++i) {
    openai::openai_options o;
    o.base_url = args.tier_urls[i];
    o.default_model = "mock";
    o.request_timeout = std::chrono::minutes(5);
    tiers.push_back(std::make_unique<openai::openai_model>(client, o));
    providers.push_back({dag_tier_providers()[i], *tiers.back()});
  }
  router_model router(std::move(providers), dag_tier_providers()[1]);
  engine e(io.get_executor(), router);
  e.set_single_threaded(true);
  const auto g = make_dag({.subtasks = args.n, .depth = args.depth, .seed = args.seed});
  const auto scripted = scripted_latencies(g, args.latency);
  ask_options o;
  o.max_concurrency = std::max(64, args.n);  // so slots never limit: the DAG alone decides
  o.stream = false;
  o.stream_synthesis = false;
  run_report report;
  boost::system::error_code run_ec;
  async_run_plan(e, make_dag_plan(g), o, [&](boost::system::error_code ec, run_report r) {
    run_ec = ec;
    report = std::move(r);
  });
  io.run();
  std::vector<microseconds> observed(g.size());
  for (const auto& a : report.agents) {
    if (a.index >= g.size()) continue;
    observed[a.index] = a.latency;
    t.latencies.push_back(a.latency - scripted[a.index]);
    if (a.status == agent_status::ok) {
      ++t.ok;
    } else {
      ++t.failed;
      if (t.first_error.empty())
        t.first_error = a.id + " " + to_string(a.status) + ": " + a.diag.message;
    }
  }
  if (report.agents.size() != g.size()) {
    t.failed += static_cast<int>(g.size()) - static_cast<int>(report.agents.size());
    if (t.first_error.empty()) t.first_error = "the report is missing agents";
  }
  if (run_ec && t.first_error.empty()) t.first_error = error_id(run_ec);
  t.wall = report.fan_out_wall;
  extra["run_wall_us"] = report.wall.count();
  extra["observed_path_us"] = critical_path(g, observed).count();
}

microseconds percentile(std::vector<microseconds> v, double p) {
  if (v.empty()) return microseconds(0);
  std::sort(v.begin(), v.end());
  const auto at = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(at, v.size() - 1)];
}

}  // namespace

int run_worker(const worker_args& args) {
  asio::io_context io(1);
  http::client_options copts;
  copts.max_connections_per_origin = static_cast<std::size_t>(
      std::max(1, args.max_connections > 0 ? args.max_connections : args.n));
  copts.tls.ca_file = args.ca_file;
  http::client client(io.get_executor(), copts);
  // dag names its mocks in tier_urls; the models below, unused then, take the one at L.
  const std::string url =
      args.url.empty() && args.tier_urls.size() == dag_tier_count ? args.tier_urls[1] : args.url;
  openai::openai_options oopts;
  oopts.base_url = url;
  oopts.default_model = "mock";
  oopts.request_timeout = std::chrono::minutes(5);
  openai::openai_model llm(client, oopts);
  // The same mock on Anthropic's wire: its Messages API sits beside /v1, at the origin's root.
  anthropic::anthropic_options aopts;
  aopts.base_url = mock::root_of(url);
  aopts.default_model = "mock";
  aopts.request_timeout = oopts.request_timeout;
  anthropic::anthropic_model messages_llm(client, aopts);

  tally t;
  t.latencies.reserve(static_cast<std::size_t>(args.n));
  boost::json::object extra;
  if (args.kind == "raw")
    concurrent_calls(io, llm, args.n, false, t);
  else if (args.kind == "raw-warm")
    warm_calls(io, llm, args.n, t, extra);
  else if (args.kind == "stream")
    concurrent_calls(io, llm, args.n, true, t);
  else if (args.kind == "stream-anthropic")
    concurrent_calls(io, messages_llm, args.n, true, t);
  else if (args.kind == "sequential")
    sequential_calls(io, llm, args.n, t);
  else if (args.kind == "pipeline")
    pipeline(io, llm, args.n, t);
  else if (args.kind == "dag")
    dag(io, client, args, t, extra);
  else {
    std::cerr << "conclave-bench: unknown worker kind " << args.kind << "\n";
    return 2;
  }
  boost::json::object out{{"kind", args.kind},
                          {"n", args.n},
                          {"ok", t.ok},
                          {"failed", t.failed},
                          {"wall_us", t.wall.count()},
                          {"p50_us", percentile(t.latencies, 0.50).count()},
                          {"p99_us", percentile(t.latencies, 0.99).count()},
                          {"connections_opened", client.stats().connections_opened},
                          {"peak_rss_kib", peak_rss_kib()}};
  if (!t.first_error.empty()) out["first_error"] = t.first_error;
  if (args.kind == "dag") {
    // Its latencies are already overheads: each agent's latency less its scripted one.
    out["p50_overhead_us"] = out["p50_us"];
    out["p99_overhead_us"] = out["p99_us"];
    out.erase("p50_us");
    out.erase("p99_us");
  }
  for (auto& [key, value] : extra) out[key] = value;
  std::cout << boost::json::serialize(out) << std::endl;
  return 0;
}

}  // namespace conclave::bench
