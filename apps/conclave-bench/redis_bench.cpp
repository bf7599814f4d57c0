#include "redis_bench.hpp"

#include "child.hpp"

#include <conclave/redis/connection.hpp>
#include <conclave/redis/journal_store.hpp>
#include <conclave/redis/shared_limiter.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
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

// Submit -> claim with three instances, as `serve --redis` does it (the run journal's shared
// queue, hiredis's blocking connection, one thread per instance): `a` queues one task a
// millisecond, `b` and `c` claim, polling every `poll` when the queue is empty.
void measure_claims(asio::io_context& ioc, std::uint16_t port, redis_figure& f) {
  auto journal_at = [port] {
    redis::journal_options o;
    o.where.port = port;
    o.prefix = "bench";
    return redis::open_journal(o);
  };
  const std::string queue = "bench";
  std::atomic<int> claimed{0}, failed{0};
  std::mutex first_error_m;
  auto note = [&](const std::exception& e) {
    ++failed;
    std::lock_guard lock(first_error_m);
    if (f.first_error.empty()) f.first_error = e.what();
  };
  auto done = [&] { return claimed.load() + failed.load() >= f.tasks; };
  std::vector<std::vector<double>> latencies(2);
  std::vector<std::thread> claimers;
  for (int i = 0; i < 2; ++i) {
    claimers.emplace_back([&, i, j = journal_at()] {
      const std::string holder = i == 0 ? "b" : "c";
      while (!done()) {
        try {
          if (auto run = j->claim_run(queue, holder, std::chrono::seconds(60))) {
            const auto sent =
                clock_type::time_point(clock_type::duration(std::stoll(run->question)));
            latencies[i].push_back(
                std::chrono::duration<double, std::milli>(clock_type::now() - sent).count());
            ++claimed;
            continue;
          }
        } catch (const std::exception& e) {
          note(e);
        }
        std::this_thread::sleep_for(f.poll);  // empty: as serve's idle instance, it looks again
      }
    });
  }
  {
    auto a = journal_at();
    auto next = clock_type::now();
    for (int n = 0; n < f.tasks; ++n) {
      std::this_thread::sleep_until(next);  // one a millisecond, steady
      next += std::chrono::milliseconds(1);
      try {
        const auto now = clock_type::now().time_since_epoch().count();
        if (!a->enqueue_run("task", std::to_string(now), "{}", "", "bench:" + std::to_string(n),
                            queue, 5, static_cast<std::size_t>(f.tasks) + 1))
          throw std::runtime_error("the queue was full");
      } catch (const std::exception& e) {
        note(e);
      }
    }
  }
  for (auto& t : claimers) t.join();
  f.failed = failed.load();
  std::vector<double> all = latencies[0];
  all.insert(all.end(), latencies[1].begin(), latencies[1].end());
  f.claim_p50_ms = percentile(all, 0.50);
  f.claim_p99_ms = percentile(all, 0.99);

  // The floor: one PING at a time, on an async connection.
  redis::connection conn(ioc.get_executor(), at(port));
  std::vector<double> pings;
  std::function<void()> ping = [&] {
    const auto sent = clock_type::now();
    conn.async_command({"PING"}, [&, sent](error_code, redis::reply) {
      pings.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - sent).count());
      if (pings.size() < 1000) ping();
    });
  };
  ping();
  drive(ioc, [&] { return pings.size() == 1000; });
  f.ping_p50_ms = percentile(pings, 0.50);
  f.ping_p99_ms = percentile(pings, 0.99);
  conn.close();
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
