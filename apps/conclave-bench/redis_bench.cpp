#include "redis_bench.hpp"

#include "child.hpp"

#include <conclave/redis/shared_limiter.hpp>
#include <conclave/redis/task_queue.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <filesystem>
#include <functional>
#include <memory>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace conclave::bench {
namespace asio = boost::asio;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;
namespace {

std::uint16_t free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(s);
    throw std::runtime_error("redis: no free port");
  }
  ::close(s);
  return ntohs(a.sin_port);
}

// A redis-server of the bench's own: loopback, a temporary directory, no persistence (what is
// measured is the round trip and the scripts, not the disk).
struct redis_process {
  redis_process() : port(free_port()) {
    dir = std::filesystem::temp_directory_path() /
          ("conclave-bench-redis-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    proc = std::make_unique<child>(
        "redis-server",
        std::vector<std::string>{"--port", std::to_string(port), "--bind", "127.0.0.1", "--dir",
                                 dir.string(), "--save", "", "--appendonly", "no", "--daemonize",
                                 "no", "--logfile", ""});
    proc->pin(bench_cpu_for_mock());
    for (std::string line; (line = proc->read_line()).size();)
      if (line.find("Ready to accept connections") != std::string::npos) return;
    throw std::runtime_error("redis: redis-server did not start (is it installed?)");
  }
  ~redis_process() {
    proc->terminate();
    proc->wait();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::uint16_t port;
  std::filesystem::path dir;
  std::unique_ptr<child> proc;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

void drive(asio::io_context& ioc, const std::function<bool()>& done) {
  while (!done())
    if (ioc.run_one() == 0) throw std::runtime_error("redis: ran out of work");
}

redis::connection_options at(std::uint16_t port) {
  redis::connection_options o;
  o.where.port = port;
  o.command_timeout = std::chrono::seconds(10);
  return o;
}

// Limiter checks on one connection, `depth` in flight.
void measure_checks(asio::io_context& ioc, std::uint16_t port, redis_figure& f) {
  redis::connection c(ioc.get_executor(), at(port));
  redis::shared_limiter limiter(c);
  const redis::shared_limit limit{1'000'000'000, 0, std::chrono::milliseconds(60'000)};
  int issued = 0, completed = 0;
  std::function<void()> next = [&] {
    if (issued == f.checks) return;
    ++issued;
    limiter.async_reserve("bench:ours", limit, 1, [&](error_code ec, redis::grant g) {
      ++completed;
      if (ec || !g.granted) {
        ++f.failed;
        if (f.first_error.empty()) f.first_error = ec ? ec.message() + ": " + g.failure : "refused";
      }
      next();
    });
  };
  // A first check loads the script, outside the clock.
  bool loaded = false;
  limiter.async_reserve("bench:ours", limit, 1, [&](error_code, redis::grant) { loaded = true; });
  drive(ioc, [&] { return loaded; });
  const auto start = clock_type::now();
  for (int i = 0; i < f.depth; ++i) next();
  drive(ioc, [&] { return completed == f.checks; });
  const double s = std::chrono::duration<double>(clock_type::now() - start).count();
  f.checks_per_s = s > 0 ? f.checks / s : 0;
  c.close();
  ioc.run();
  ioc.restart();
}

// The same script by redis-benchmark (hiredis, C), one connection, the same depth.
void measure_peer(std::uint16_t port, redis_figure& f) {
  std::vector<std::string> args{"-h",
                                "127.0.0.1",
                                "-p",
                                std::to_string(port),
                                "-c",
                                "1",
                                "-P",
                                std::to_string(f.depth),
                                "-n",
                                std::to_string(f.checks),
                                "-r",
                                "1000000000",
                                "--csv",
                                "EVALSHA",
                                redis::shared_limiter::reserve_script_sha1(),
                                "6"};
  for (const char* k :
       {"requests", "tokens", "cooldown", "left_requests", "left_tokens", "token_sum"})
    args.push_back(std::string("bench:{peer}:") + k);
  for (const char* a : {"60000", "1000000000", "0", "1", "__rand_int__"}) args.push_back(a);
  try {
    child peer("redis-benchmark", args);
    peer.pin(bench_cpu_for_client());
    const std::string out = peer.read_all();
    peer.wait();
    // The last CSV line: "EVALSHA ...","<rps>",...
    const auto line_start = out.rfind("\"EVALSHA");
    const auto q1 = out.find("\",\"", line_start);
    if (line_start == std::string::npos || q1 == std::string::npos) {
      f.peer_note = "redis-benchmark said: " + out.substr(0, 200);
      return;
    }
    f.peer_checks_per_s = std::stod(out.substr(q1 + 3));
    f.peer_note = "redis-benchmark -c 1 -P " + std::to_string(f.depth) + " EVALSHA (same script)";
  } catch (const std::exception& e) {
    f.peer_note = std::string("no peer: ") + e.what();
  }
}

// Submit -> claim with three instances: `a` submits one task a millisecond, `b` and `c` claim.
void measure_claims(asio::io_context& ioc, std::uint16_t port, redis_figure& f) {
  redis::task_queue_options qo;
  qo.name = "bench";
  qo.capacity = static_cast<std::size_t>(f.tasks) + 1;
  std::vector<std::unique_ptr<redis::connection>> conns;
  std::vector<std::unique_ptr<redis::task_queue>> queues;
  for (const char* owner : {"a", "b", "c"}) {
    conns.push_back(std::make_unique<redis::connection>(ioc.get_executor(), at(port)));
    queues.push_back(std::make_unique<redis::task_queue>(*conns.back(), qo, owner));
  }
  std::vector<double> latencies;
  int submitted = 0;
  bool measured = false;  // what completes after the figures are taken is not counted
  asio::steady_timer pace(ioc);
  std::function<void()> submit = [&] {
    if (submitted == f.tasks) return;
    const auto now = clock_type::now().time_since_epoch().count();
    queues[0]->async_submit("t" + std::to_string(submitted), std::to_string(now), 5,
                            [&](error_code ec) {
                              if (measured) return;
                              if (ec && f.first_error.empty()) f.first_error = ec.message();
                              if (ec) ++f.failed;
                            });
    ++submitted;
    pace.expires_after(std::chrono::milliseconds(1));
    pace.async_wait([&](error_code ec) {
      if (!ec) submit();
    });
  };
  std::vector<std::unique_ptr<asio::steady_timer>> idle;
  std::function<void(std::size_t)> claim = [&](std::size_t i) {
    if (static_cast<int>(latencies.size()) + f.failed >= f.tasks) return;
    queues[i]->async_claim([&, i](error_code ec, std::optional<redis::queued_task> t) {
      if (measured) return;
      if (t) {
        const auto sent = clock_type::time_point(clock_type::duration(std::stoll(t->body)));
        latencies.push_back(
            std::chrono::duration<double, std::milli>(clock_type::now() - sent).count());
        queues[i]->async_finish(t->id, t->lease, "succeeded", "", "", "", [](error_code, auto) {});
        return claim(i);
      }
      if (ec) ++f.failed;
      idle[i - 1]->expires_after(f.poll);
      idle[i - 1]->async_wait([&, i](error_code wait_ec) {
        if (!wait_ec) claim(i);
      });
    });
  };
  for (int i = 0; i < 2; ++i) idle.push_back(std::make_unique<asio::steady_timer>(ioc));
  submit();
  claim(1);
  claim(2);
  drive(ioc, [&] { return static_cast<int>(latencies.size()) + f.failed >= f.tasks; });
  measured = true;
  f.claim_p50_ms = percentile(latencies, 0.50);
  f.claim_p99_ms = percentile(latencies, 0.99);

  // The floor: one PING at a time on the submitter's connection.
  std::vector<double> pings;
  std::function<void()> ping = [&] {
    const auto sent = clock_type::now();
    conns[0]->async_command({"PING"}, [&, sent](error_code, redis::reply) {
      pings.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - sent).count());
      if (pings.size() < 1000) ping();
    });
  };
  ping();
  drive(ioc, [&] { return pings.size() == 1000; });
  f.ping_p50_ms = percentile(pings, 0.50);
  f.ping_p99_ms = percentile(pings, 0.99);
  for (auto& c : conns) c->close();
  pace.cancel();
  for (auto& t : idle) t->cancel();
  ioc.run();
}

}  // namespace

redis_figure run_redis_bench(int checks, int depth, int tasks, std::chrono::milliseconds poll) {
  redis_figure f;
  f.checks = checks;
  f.depth = depth;
  f.tasks = tasks;
  f.poll = poll;
  redis_process server;
  asio::io_context ioc;
  measure_checks(ioc, server.port, f);
  measure_peer(server.port, f);
  measure_claims(ioc, server.port, f);
  return f;
}

}  // namespace conclave::bench
