// The serve scenario's workers (see serve_bench.hpp): latency through the library and through
// serve, memory per queued task and per pending async_ask. Each prints one JSON line.
#include "serve_bench.hpp"

#include <conclave/engine/ask.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/http/client.hpp>
#include <conclave/http/origin.hpp>
#include <conclave/http/sse_parser.hpp>
#include <conclave/openai/openai_model.hpp>
#include <conclave/serve/service.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <malloc.h>
#include <stdexcept>
#include <sys/resource.h>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;
using std::chrono::microseconds;

namespace conclave::bench {
namespace {

// A task as short as the engine has: one agent, so one model call, unstreamed.
ask_options short_task() {
  ask_options o;
  o.agents = 1;
  o.stream = false;
  o.stream_synthesis = false;
  return o;
}

std::string question(int i) {
  return "Benchmark task " + std::to_string(i) + ": is the task API fast?";
}

// The engine on a mock: its own client, `connections` to the mock at most.
struct backend {
  http::client client;
  openai::openai_model llm;
  engine eng;
  backend(const asio::any_io_executor& ex, const std::string& url, std::size_t connections)
      : client(ex, {.max_connections_per_origin = connections}),
        llm(client,
            {.base_url = url, .default_model = "mock", .request_timeout = std::chrono::hours(2)}),
        eng(ex, llm) {}
};

serve::service_options service_for(int n, std::size_t workers) {
  serve::service_options so;
  so.http.single_threaded = true;  // its io_context runs on one thread
  so.workers = workers;
  so.queue.capacity = static_cast<std::size_t>(n) + 16;
  so.queue.keep_finished = static_cast<std::size_t>(n) + 16;
  so.run_defaults = short_task();
  so.upkeep_interval = std::chrono::hours(1);
  so.shutdown_grace = std::chrono::milliseconds(50);
  return so;
}

struct tally {
  std::vector<microseconds> latencies;
  int ok = 0, failed = 0;
  std::string first_error;
  microseconds wall{0};
  void record(const std::string& error, microseconds latency) {
    latencies.push_back(latency);
    if (error.empty()) {
      ++ok;
    } else {
      ++failed;
      if (first_error.empty()) first_error = error;
    }
  }
  json::object to_json() const {
    auto pct = [this](double p) -> std::int64_t {
      if (latencies.empty()) return 0;
      auto v = latencies;
      std::sort(v.begin(), v.end());
      const auto at = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
      return v[std::min(at, v.size() - 1)].count();
    };
    json::object o{{"ok", ok},
                   {"failed", failed},
                   {"wall_us", wall.count()},
                   {"p50_us", pct(0.5)},
                   {"p99_us", pct(0.99)}};
    if (!first_error.empty()) o["first_error"] = first_error;
    return o;
  }
};

microseconds since(clock_type::time_point t) {
  return std::chrono::duration_cast<microseconds>(clock_type::now() - t);
}

// N concurrent async_ask; the io_context runs until the last completes.
void library_round(asio::io_context& io, engine& e, int n, tally& t) {
  const auto t0 = clock_type::now();
  for (int i = 0; i < n; ++i) {
    const auto start = clock_type::now();
    async_ask(e, question(i), short_task(),
              [&t, start](boost::system::error_code ec, run_report r) {
                t.record(ec ? error_id(ec) + (r.stop_note.empty() ? "" : ": " + r.stop_note) : "",
                         since(start));
              });
  }
  io.run();
  io.restart();
  t.wall = since(t0);
}

// POST /v1/tasks; the new task's id, or "" with `error` set.
asio::awaitable<std::string> submit(http::client& c, const http::base_url& base, int i,
                                    std::string& error) {
  http::request_message post{bhttp::verb::post, base.target("tasks"), 11};
  post.set(bhttp::field::content_type, "application/json");
  post.body() = json::serialize(
      json::object{{"question", question(i)}, {"options", json::object{{"agents", 1}}}});
  post.prepare_payload();
  const auto r = co_await c.request(base.where, std::move(post));
  boost::system::error_code ec;
  const auto v = json::parse(r.body, ec);
  if (r.ec || r.status != 202 || ec || !v.is_object() || !v.as_object().contains("id")) {
    error = "POST /v1/tasks: " + (r.ec ? r.ec.message() : std::to_string(r.status) + " " + r.body);
    co_return "";
  }
  co_return std::string(v.as_object().at("id").as_string());
}

// One task through serve: submitted, then followed on its events stream to its final status.
asio::awaitable<void> one_task(http::client& c, const http::base_url& base, int i, tally& t) {
  const auto start = clock_type::now();
  auto done = start;
  std::string error, state;
  try {
    const std::string id = co_await submit(c, base, i, error);
    if (!id.empty()) {
      http::request_message get{bhttp::verb::get, base.target("tasks/" + id + "/events"), 11};
      get.set(bhttp::field::accept, "text/event-stream");
      http::sse_parser parser;
      std::vector<http::sse_event> events;
      auto sink = [&](std::string_view chunk) {
        parser.feed(chunk, events);
        for (const auto& e : events) {
          if (e.type != "status") continue;
          boost::system::error_code ec;
          const auto v = json::parse(e.data, ec);
          if (!ec && v.is_object() && v.as_object().contains("state") && state.empty()) {
            state = std::string(v.as_object().at("state").as_string());
            done = clock_type::now();
          }
        }
        events.clear();
        return true;  // to the stream's end (right after the status), so the connection is kept
      };
      const auto r =
          co_await c.stream(base.where, std::move(get), clock_type::time_point::max(), sink);
      if (state != "succeeded") {
        error = "task " + id + ": " +
                (state.empty() ? "no final status (" +
                                     (r.ec ? r.ec.message() : std::to_string(r.status)) + ")"
                               : state);
      }
    }
  } catch (const std::exception& x) {
    error = x.what();
  }
  if (done == start) done = clock_type::now();
  t.record(error, std::chrono::duration_cast<microseconds>(done - start));
}

// CPU time (user + system) of the process, or of the calling thread.
microseconds cpu_now(int who = RUSAGE_SELF) {
  rusage u{};
  getrusage(who, &u);
  auto us = [](const timeval& t) {
    return microseconds(static_cast<long long>(t.tv_sec) * 1'000'000 + t.tv_usec);
  };
  return us(u.ru_utime) + us(u.ru_stime);
}

struct memory {
  long rss_kib = 0;
  double heap_kib = 0;
};

// VmRSS, and the bytes malloc has handed out and not had back (all arenas).
memory memory_now() {
  memory m;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_kib = std::stol(line.substr(6));
  }
  m.heap_kib = static_cast<double>(mallinfo2().uordblks) / 1024.0;
  return m;
}

json::object growth(const memory& before, const memory& after, int n) {
  return {{"rss_kib_per", static_cast<double>(after.rss_kib - before.rss_kib) / n},
          {"heap_kib_per", (after.heap_kib - before.heap_kib) / n},
          {"rss_before_kib", before.rss_kib},
          {"rss_after_kib", after.rss_kib}};
}

// N tasks through serve at once, from `gen_io` (run on this thread); `client_cpu` gets this
// thread's CPU time for them.
void serve_round(asio::io_context& gen_io, http::client& gen, const http::base_url& base, int n,
                 tally& t, microseconds& client_cpu) {
  const auto cpu0 = cpu_now(RUSAGE_THREAD);
  const auto t0 = clock_type::now();
  for (int i = 0; i < n; ++i) asio::co_spawn(gen_io, one_task(gen, base, i, t), asio::detached);
  gen_io.run();
  gen_io.restart();
  t.wall = since(t0);
  client_cpu = cpu_now(RUSAGE_THREAD) - cpu0;
}

// Latency: N async_ask, then the same N tasks through a service on the same engine, each after
// a round of warm-up (so each measured round finds its connections open), and the CPU each
// took: the library's, the service's (the process's less the clients' thread) and the clients'.
json::object latency_worker(const std::string& url, int n) {
  const auto wide = 2 * static_cast<std::size_t>(n) + 16;
  asio::io_context io(1);
  backend b(io.get_executor(), url, wide);
  tally warm, library, warm_served, served;
  library_round(io, b.eng, n, warm);
  auto cpu0 = cpu_now();
  library_round(io, b.eng, n, library);
  const auto library_cpu = cpu_now() - cpu0;

  auto so = service_for(n, static_cast<std::size_t>(n));
  so.queue.keep_finished = wide;  // both rounds' tasks
  serve::service svc(io.get_executor(), b.eng, std::move(so));
  svc.listen();
  svc.async_run([&io](boost::system::error_code) { io.stop(); });
  std::thread server([&io] { io.run(); });
  // The HTTP clients on a thread of their own, as they would be in another process.
  asio::io_context gen_io(1);
  http::client gen(gen_io.get_executor(), {.max_connections_per_origin = wide});
  const auto base = http::parse_base_url(svc.origin() + "/v1");
  if (!base) throw std::runtime_error("serve: bad origin " + svc.origin());
  microseconds client_cpu{0};
  serve_round(gen_io, gen, *base, n, warm_served, client_cpu);
  cpu0 = cpu_now();
  serve_round(gen_io, gen, *base, n, served, client_cpu);
  const auto serve_cpu = cpu_now() - cpu0 - client_cpu;
  svc.stop();
  server.join();
  json::object o{{"library", library.to_json()}, {"serve", served.to_json()}};
  o["library"].as_object()["cpu_us"] = library_cpu.count();
  o["serve"].as_object()["cpu_us"] = serve_cpu.count();
  o["serve"].as_object()["client_cpu_us"] = client_cpu.count();
  if (warm.failed > 0) o["warm_up_error"] = warm.first_error;
  if (warm_served.failed > 0) o["warm_up_error"] = warm_served.first_error;
  return o;
}

// Memory per queued task: one task running on a mock that does not answer, then N queued.
json::object queued_worker(const std::string& url, int n) {
  asio::io_context io(1);
  backend b(io.get_executor(), url, 1);
  serve::service svc(io.get_executor(), b.eng, service_for(n, 1));
  svc.listen();
  svc.async_run([&io](boost::system::error_code) { io.stop(); });
  http::client gen(io.get_executor(), {.max_connections_per_origin = 1});
  const auto base = http::parse_base_url(svc.origin() + "/v1");
  json::object out;
  auto body = [&]() -> asio::awaitable<void> {
    std::string error;
    co_await submit(gen, *base, 0, error);  // takes the one worker
    asio::steady_timer pause(io, std::chrono::milliseconds(100));
    co_await pause.async_wait(asio::use_awaitable);
    const memory before = memory_now();
    for (int i = 1; i <= n && error.empty(); ++i) co_await submit(gen, *base, i, error);
    const memory after = memory_now();
    out = growth(before, after, n);
    out["queued"] = svc.stats().queued;
    if (!error.empty()) out["first_error"] = error;
  };
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    if (e) out["first_error"] = "the submitting coroutine threw";
    svc.stop();
  });
  io.run();
  return out;
}

// The peer: N async_ask pending behind one call that does not answer, each waiting for the
// client's single connection to the mock.
json::object pending_worker(const std::string& url, int n) {
  asio::io_context io(1);
  backend b(io.get_executor(), url, 1);
  std::vector<asio::cancellation_signal> stop(static_cast<std::size_t>(n) + 1);
  int done = 0;
  auto start = [&](int i) {
    async_ask(
        b.eng, question(i), short_task(),
        asio::bind_cancellation_slot(stop[static_cast<std::size_t>(i)].slot(),
                                     [&done](boost::system::error_code, run_report) { ++done; }));
  };
  start(0);
  io.run_for(std::chrono::milliseconds(100));
  const memory before = memory_now();
  for (int i = 1; i <= n; ++i) start(i);
  io.run_for(std::chrono::milliseconds(300));
  const memory after = memory_now();
  json::object out = growth(before, after, n);
  out["pending"] = n - done;  // of n + 1, less the one whose call is out
  for (auto& s : stop) s.emit(asio::cancellation_type::terminal);
  for (int round = 0; round < 100 && done < n + 1 && !io.stopped(); ++round)
    io.run_for(std::chrono::milliseconds(50));
  return out;
}

}  // namespace

bool is_serve_worker(const std::string& kind) {
  return kind == "serve" || kind == "serve-queued" || kind == "ask-pending";
}

int run_serve_worker(const std::string& kind, const std::string& url, int n) {
  const json::object out = kind == "serve"          ? latency_worker(url, n)
                           : kind == "serve-queued" ? queued_worker(url, n)
                                                    : pending_worker(url, n);
  std::cout << json::serialize(out) << std::endl;
  return 0;
}

}  // namespace conclave::bench
