// The serve scenario, the suite's side: the mocks and the worker processes (serve_worker.cpp).
#include "serve_bench.hpp"

#include "child.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <stdexcept>
#include <vector>

namespace json = boost::json;

namespace conclave::bench {
namespace {

// A conclave-mock child at `latency`, and its base URL.
struct mock {
  std::unique_ptr<child> proc;
  std::string url;
  mock(const std::string& path, std::chrono::milliseconds latency) {
    proc = std::make_unique<child>(
        path, std::vector<std::string>{"--latency-ms", std::to_string(latency.count())});
    proc->pin(bench_cpu_for_mock());
    const std::string line = proc->read_line();
    const auto at = line.rfind(' ');
    if (line.find("listening on") == std::string::npos || at == std::string::npos)
      throw std::runtime_error("conclave-mock did not start: '" + line + "'");
    url = line.substr(at + 1);
  }
  ~mock() {
    proc->terminate();
    proc->wait();
  }
};

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

double num(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_number() ? v->to_number<double>() : 0.0;
}

}  // namespace

serve_figure run_serve_bench(const std::string& mock_path, int n,
                             std::chrono::milliseconds latency) {
  serve_figure f;
  f.n = n;
  f.latency = latency;
  json::object lat, queued, pending;
  {
    mock fast(mock_path, latency);
    lat = run_child("serve", fast.url, n);
  }
  {
    mock slow(mock_path, std::chrono::hours(1));
    queued = run_child("serve-queued", slow.url, n);
    pending = run_child("ask-pending", slow.url, n);
  }
  const auto& lib = lat.at("library").as_object();
  const auto& srv = lat.at("serve").as_object();
  f.library_ok = static_cast<int>(num(lib, "ok"));
  f.serve_ok = static_cast<int>(num(srv, "ok"));
  f.failed = static_cast<int>(num(lib, "failed") + num(srv, "failed"));
  for (const json::object* o :
       std::vector<const json::object*>{&lib, &srv, &lat, &queued, &pending}) {
    for (const char* key : {"first_error", "warm_up_error"}) {
      if (const auto* e = o->if_contains(key); e && e->is_string() && f.first_error.empty())
        f.first_error = std::string(e->as_string());
    }
  }
  f.library_p50_ms = num(lib, "p50_us") / 1000.0;
  f.library_p99_ms = num(lib, "p99_us") / 1000.0;
  f.library_wall_ms = num(lib, "wall_us") / 1000.0;
  f.serve_p50_ms = num(srv, "p50_us") / 1000.0;
  f.serve_p99_ms = num(srv, "p99_us") / 1000.0;
  f.serve_wall_ms = num(srv, "wall_us") / 1000.0;
  f.library_cpu_us = num(lib, "cpu_us") / n;
  f.serve_cpu_us = num(srv, "cpu_us") / n;
  f.client_cpu_us = num(srv, "client_cpu_us") / n;
  f.queued = static_cast<int>(num(queued, "queued"));
  f.queued_rss_kib = num(queued, "rss_kib_per");
  f.queued_heap_kib = num(queued, "heap_kib_per");
  f.pending = static_cast<int>(num(pending, "pending"));
  f.pending_rss_kib = num(pending, "rss_kib_per");
  f.pending_heap_kib = num(pending, "heap_kib_per");
  return f;
}

}  // namespace conclave::bench
