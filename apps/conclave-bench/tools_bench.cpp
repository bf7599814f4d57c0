#include "tools_bench.hpp"

#include <conclave/engine/ask.hpp>
#include <conclave/mcp/host.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <stdexcept>

namespace asio = boost::asio;

namespace conclave::bench {
namespace {

using bench_clock = std::chrono::steady_clock;

// Runs `io` until `done` (an MCP client keeps reads pending, so run() would not return).
void run_until(asio::io_context& io, const bool& done) {
  io.restart();
  while (!done && io.run_one() > 0) {
  }
}

double us_since(bench_clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(bench_clock::now() - t0).count();
}

// Answers at once: a decomposition into `agents` parts, `turns` turns of `per_turn` tool calls
// (each with its own arguments, so none is a stall), then a plain answer.
class instant_model final : public model {
 public:
  instant_model(asio::any_io_executor ex, int agents, int turns, int per_turn)
      : ex_(std::move(ex)), agents_(agents), turns_(turns), per_turn_(per_turn) {}
  std::string describe() const override { return "bench:instant"; }
  asio::any_io_executor get_executor() const override { return ex_; }

 protected:
  void do_complete(asio::any_io_executor ex, chat_request req, delta_handler,
                   completion_handler&& handler) override {
    chat_response r;
    r.tokens = {1, 1};
    if (req.tools.empty()) {
      const bool decompose = req.messages.back().text().find("sub-questions") != std::string::npos;
      boost::json::array parts;
      for (int i = 0; i < agents_; ++i) parts.emplace_back("part " + std::to_string(i) + "?");
      r.message = assistant_message(decompose ? boost::json::serialize(parts) : "merged");
      r.stop = stop_reason::end;
    } else {
      int turn = 0;
      for (const auto& m : req.messages) turn += m.who == role::assistant;
      std::vector<tool_call> calls;
      for (int k = 0; turn < turns_ && k < per_turn_; ++k) {
        calls.push_back(
            {"c" + std::to_string(turn) + "_" + std::to_string(k), req.tools[0].name,
             R"({"message":"t)" + std::to_string(turn) + "k" + std::to_string(k) + R"("})"});
      }
      r.stop = calls.empty() ? stop_reason::end : stop_reason::tool_use;
      r.message = assistant_message(calls.empty() ? "answered" : "", std::move(calls));
    }
    asio::post(ex, [h = std::move(handler), r = std::move(r)]() mutable {
      std::move(h)(boost::system::error_code{}, std::move(r));
    });
  }

 private:
  asio::any_io_executor ex_;
  int agents_, turns_, per_turn_;
};

// Per call through the agents' loops: wall of one ask / the tool calls it made.
double loop_cost(asio::io_context& io, const std::shared_ptr<tool>& t, int agents, int turns,
                 int per_turn, int& calls) {
  instant_model m(io.get_executor(), agents, turns, per_turn);
  engine e(io.get_executor(), m);
  ask_options o;
  o.agents = agents;
  o.max_concurrency = agents;
  o.stream = false;
  o.stream_synthesis = false;
  o.tools = {t};
  o.limits.max_turns = turns + 1;
  o.limits.max_tool_calls = turns * per_turn;
  run_report report;
  boost::system::error_code result;
  bool done = false;
  const auto t0 = bench_clock::now();
  async_ask(e, "bench", o, [&](boost::system::error_code ec, run_report r) {
    result = ec;
    report = std::move(r);
    done = true;
  });
  run_until(io, done);
  const double wall = us_since(t0);
  if (result) throw std::runtime_error("tools scenario: the ask failed: " + result.message());
  calls = 0;
  for (const auto& a : report.agents) {
    for (const auto& c : a.tool_calls) {
      if (c.outcome != "ok") throw std::runtime_error("tools scenario: a call failed: " + c.error);
      ++calls;
    }
  }
  return calls > 0 ? wall / calls : 0;
}

// Per call, the tool invoked directly from one coroutine, `n` times.
double direct_cost(asio::io_context& io, const std::shared_ptr<tool>& t, int n) {
  double per_call = 0;
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const auto t0 = bench_clock::now();
        for (int i = 0; i < n; ++i) {
          auto [ec, out] =
              co_await t->async_invoke(R"({"message":"k)" + std::to_string(i) + R"("})",
                                       asio::as_tuple(asio::use_awaitable));
          if (ec || out.is_error) throw std::runtime_error("tools scenario: " + out.content);
        }
        per_call = us_since(t0) / n;
        done = true;
      },
      asio::detached);
  run_until(io, done);
  return per_call;
}

}  // namespace

std::vector<tool_figure> run_tools_bench(int agents, int turns, int per_turn,
                                         const std::vector<std::string>& mcp_server) {
  std::vector<tool_figure> out;
  asio::io_context io(1);
  auto noop =
      make_tool(io.get_executor(), {"noop", "does nothing"},
                [](std::string) -> asio::awaitable<tool_output> { co_return tool_output{"ok"}; });
  tool_figure in_process{.what = "in-process tool", .peer = "the same tool awaited directly"};
  in_process.loop_us = loop_cost(io, noop, agents, turns, per_turn, in_process.calls);
  in_process.peer_us = direct_cost(io, noop, in_process.calls);
  out.push_back(in_process);
  if (mcp_server.empty()) return out;

  // The same over MCP: a stdio server (conclave-mock --mcp-stdio), its echo tool.
  mcp::server_config server{.name = "bench", .command = mcp_server.front()};
  server.args.assign(mcp_server.begin() + 1, mcp_server.end());
  mcp::host host(io.get_executor());
  boost::system::error_code start_ec;
  std::string why;
  std::vector<mcp::server_config> servers{server};
  bool started = false;
  host.async_start(std::move(servers), [&](boost::system::error_code ec, std::string w) {
    start_ec = ec;
    why = std::move(w);
    started = true;
  });
  run_until(io, started);
  if (start_ec) throw std::runtime_error("tools scenario: the MCP server did not start: " + why);
  std::shared_ptr<tool> echo;
  for (const auto& t : host.tools()) {
    if (t->spec().name == "bench__echo") echo = t;
  }
  if (!echo) throw std::runtime_error("tools scenario: the MCP server has no echo tool");
  tool_figure stdio{.what = "MCP over stdio", .peer = "the same MCP call awaited directly"};
  stdio.loop_us = loop_cost(io, echo, agents, turns, per_turn, stdio.calls);
  stdio.peer_us = direct_cost(io, echo, stdio.calls);
  out.push_back(stdio);
  bool stopped = false;
  host.async_shutdown([&] { stopped = true; });
  run_until(io, stopped);
  return out;
}

}  // namespace conclave::bench
