// `conclave serve` and `conclave-mock` as child processes, for the kill -9 tests: a temporary
// directory, each child's listening line read from its stdout, plain HTTP calls, the mock's
// call counter, and a task's event stream read until n agents completed. External processes:
// their output is polled in bounded loops. Needs CONCLAVE_CLI and CONCLAVE_MOCK defined.
#pragma once

#include "process.hpp"
#include "run.hpp"
#include "serve_client.hpp"
#include "temp_file.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace conclave::test {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Polls (bounded: an external process) `file` for a line "<prefix>URL"; returns URL.
inline std::string wait_for_url(const std::string& file, const std::string& prefix) {
  using namespace std::chrono_literals;
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < give_up) {
    const std::string text = slurp(file);
    if (const auto at = text.find(prefix); at != std::string::npos) {
      const auto end = text.find('\n', at);
      if (end != std::string::npos)
        return text.substr(at + prefix.size(), end - at - prefix.size());
    }
    std::this_thread::sleep_for(10ms);
  }
  BOOST_FAIL("no \"" + prefix + "\" line in " + file);
  return "";
}

inline std::uint16_t port_of(const std::string& url) {
  const auto colon = url.rfind(':');
  return static_cast<std::uint16_t>(std::stoi(url.substr(colon + 1)));
}

/// A child and where it listens.
struct child {
  std::unique_ptr<process> proc;
  std::string url;
  std::uint16_t port = 0;
};

/// conclave-mock with latency and jitter, so a run's agents end apart.
inline child start_mock(const temp_dir& dir) {
  stdio_options io;
  io.stdout_path = dir / "mock.out";
  child c;
  c.proc = std::make_unique<process>(
      CONCLAVE_MOCK,
      std::vector<std::string>{"--latency-ms", "100", "--jitter-ms", "1500", "--seed", "3"},
      std::map<std::string, std::string>{}, io);
  c.url = wait_for_url(io.stdout_path, "conclave-mock listening on ");
  c.port = port_of(c.url.substr(0, c.url.rfind('/')));
  return c;
}

/// `conclave serve` on a free loopback port against the mock, with `args` after the defaults.
inline child start_serve(const temp_dir& dir, const std::string& name, const std::string& mock_url,
                         const std::vector<std::string>& args) {
  stdio_options io;
  io.stdout_path = dir / (name + ".out");
  const std::map<std::string, std::string> env{
      {"OPENAI_BASE_URL", mock_url},     {"OPENAI_API_KEY", "test"}, {"ANTHROPIC_API_KEY", ""},
      {"ANTHROPIC_BASE_URL", ""},        {"CONCLAVE_CONFIG", ""},    {"HOME", dir.str()},
      {"XDG_STATE_HOME", dir / "state"}, {"CONCLAVE_REDIS_URL", ""}};
  std::vector<std::string> all{"serve", "--listen", "127.0.0.1:0", "--provider", "openai"};
  all.insert(all.end(), args.begin(), args.end());
  child c;
  c.proc = std::make_unique<process>(CONCLAVE_CLI, all, env, io);
  c.url = wait_for_url(io.stdout_path, "conclave serve listening on ");
  c.port = port_of(c.url);
  return c;
}

inline reply call(std::uint16_t port, const std::string& method, const std::string& target,
                  const std::string& body = {},
                  std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  boost::asio::io_context io;
  return run(io, http_call(port, method, target, body), limit);
}

/// The mock's OpenAI calls so far (every one, answered or not).
inline std::uint64_t mock_calls(const child& mock) {
  const auto stats = json_of(call(mock.port, "GET", "/v1/stats").body());
  return stats.at("calls_by_wire").at("openai").to_number<std::uint64_t>();
}

/// Reads the task's event stream until `n` agents completed (bounded); what it read.
inline std::string until_completed(std::uint16_t port, const std::string& id, std::size_t n) {
  namespace asio = boost::asio;
  asio::io_context io;
  std::string seen;
  const bool ok = run(
      io,
      [&]() -> asio::awaitable<bool> {
        auto s = co_await connect_loopback(port);
        const auto req = request_text("GET", "/v1/tasks/" + id + "/events");
        co_await asio::async_write(s, asio::buffer(req), asio::use_awaitable);
        co_return co_await read_until_count(s, seen, "event: completed", n);
      }(),
      std::chrono::seconds(60));
  BOOST_REQUIRE_MESSAGE(ok, "fewer than " + std::to_string(n) + " agents completed: " + seen);
  return seen;
}

/// Polls (bounded) GET /v1/tasks/{id} on `port` until it answers 200; the last status.
inline unsigned wait_for_task(std::uint16_t port, const std::string& id) {
  unsigned status = 0;
  for (int i = 0; i < 1000 && status != 200; ++i) {
    status = call(port, "GET", "/v1/tasks/" + id).result_int();
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status;
}

/// A resumed task, read to its end on `port`: its event stream ends succeeded, its result has
/// an answer and `agents` agents, all ok. How many of them were replayed from the journal.
inline std::uint64_t replayed_to_the_end(std::uint16_t port, const std::string& id,
                                         std::size_t agents) {
  const auto events =
      call(port, "GET", "/v1/tasks/" + id + "/events", {}, std::chrono::seconds(60));
  const auto frames = sse_events(events.body());
  BOOST_REQUIRE(!frames.empty());
  BOOST_CHECK_EQUAL(json_of(frames.back().data).at("state").as_string(), "succeeded");
  const auto result = json_of(call(port, "GET", "/v1/tasks/" + id + "/result").body());
  BOOST_REQUIRE_EQUAL(result.at("state").as_string(), "succeeded");
  BOOST_CHECK(!result.at("answer").as_string().empty());
  const auto& all = result.at("report").at("agents").as_array();
  BOOST_REQUIRE_EQUAL(all.size(), agents);
  std::uint64_t replayed = 0;
  for (const auto& a : all) {
    BOOST_CHECK_EQUAL(a.at("status").as_string(), "ok");
    const auto* r = a.as_object().if_contains("replayed");
    replayed += r && r->as_bool();
  }
  return replayed;
}

}  // namespace conclave::test
