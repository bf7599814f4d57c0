// The serve scenario, the suite's side: the mocks and the worker processes (serve_worker.cpp).
#include "serve_bench.hpp"

#include "child.hpp"
#include "mock_process.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <stdexcept>
#include <vector>

namespace json = boost::json;

namespace conclave::bench {
namespace {

json::object run_child(const std::string& kind, const std::string& url, int n) {
  child worker(self_path(), {"--worker", kind, "--url", url, "--n", std::to_string(n)});
  worker.pin(bench_cpu_for_client());
  const std::string line = worker.read_all();
  const auto exit = worker.wait();
  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  if (ec || !v.is_object() || exit.code != 0)
    throw std::runtime_error("serve: the " + kind + " worker failed (exit " +
                             std::to_string(exit.code) + "): " + line);
  return std::move(v.as_object());
}

}  // namespace

serve_figure run_serve_bench(const std::string& mock_path, int n,
                             std::chrono::milliseconds latency) {
  serve_figure f;
  f.n = n;
  f.latency = latency;
  json::object lat, queued, pending;
  {
    mock_process fast(mock_path, latency, false);
    lat = run_child("serve", fast.url(), n);
  }
  {
    mock_process slow(mock_path, std::chrono::hours(1), false);
    queued = run_child("serve-queued", slow.url(), n);
    pending = run_child("ask-pending", slow.url(), n);
  }
  const auto& lib = lat.at("library").as_object();
  const auto& srv = lat.at("serve").as_object();
  f.library_ok = static_cast<int>(number(lib, "ok"));
  f.serve_ok = static_cast<int>(number(srv, "ok"));
  f.failed = static_cast<int>(number(lib, "failed") + number(srv, "failed"));
  for (const json::object* o :
       std::vector<const json::object*>{&lib, &srv, &lat, &queued, &pending}) {
    for (const char* key : {"first_error", "warm_up_error"}) {
      if (const auto* e = o->if_contains(key); e && e->is_string() && f.first_error.empty())
        f.first_error = std::string(e->as_string());
    }
  }
  f.library_p50_ms = number(lib, "p50_us") / 1000.0;
  f.library_p99_ms = number(lib, "p99_us") / 1000.0;
  f.library_wall_ms = number(lib, "wall_us") / 1000.0;
  f.serve_p50_ms = number(srv, "p50_us") / 1000.0;
  f.serve_p99_ms = number(srv, "p99_us") / 1000.0;
  f.serve_wall_ms = number(srv, "wall_us") / 1000.0;
  f.library_cpu_us = number(lib, "cpu_us") / n;
  f.serve_cpu_us = number(srv, "cpu_us") / n;
  f.client_cpu_us = number(srv, "client_cpu_us") / n;
  f.queued = static_cast<int>(number(queued, "queued"));
  f.queued_rss_kib = number(queued, "rss_kib_per");
  f.queued_heap_kib = number(queued, "heap_kib_per");
  f.pending = static_cast<int>(number(pending, "pending"));
  f.pending_rss_kib = number(pending, "rss_kib_per");
  f.pending_heap_kib = number(pending, "heap_kib_per");
  return f;
}

}  // namespace conclave::bench
