#include "tool_turn.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/text.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::detail {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// What the workers of one turn share; lives in run_tool_turn's frame, touched only on the
// agent's strand.
struct turn_state {
  std::shared_ptr<run_context> ctx;
  std::size_t agent = 0;
  int turn = 0;
  std::vector<planned_call> calls;
  const std::vector<std::shared_ptr<tool>>& tools;
  clock::time_point deadline;
  std::vector<tool_result> results;
  std::vector<tool_call_record> records;
  std::size_t next = 0;
};

std::string seconds(std::chrono::milliseconds d) {
  const auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

asio::awaitable<void> run_one(turn_state& s, std::size_t k) {
  const planned_call& p = s.calls[k];
  tool_result& out = s.results[k];
  tool_call_record& rec = s.records[k];
  out.call_id = p.call.id;
  rec.name = p.call.name;
  rec.turn = s.turn;
  rec.arguments_bytes = p.call.arguments.size();
  s.ctx->emit({.kind = event_kind::tool_call_started,
               .agent = s.agent,
               .turn = s.turn,
               .tool = p.call.name,
               .bytes = rec.arguments_bytes});
  const auto started = clock::now();
  if (!p.refusal.empty()) {
    out = {p.call.id, p.refusal, true};
    rec.outcome = "refused";
  } else {
    using namespace asio::experimental::awaitable_operators;
    const auto limit = s.ctx->opts.limits.tool_timeout;
    asio::steady_timer timer(co_await asio::this_coro::executor,
                             std::min(clock::now() + limit, s.deadline));
    auto winner = co_await (s.tools[p.tool]->async_invoke(p.call.arguments, use_tuple) ||
                            timer.async_wait(use_tuple));
    if (winner.index() == 0) {
      auto& [ec, output] = std::get<0>(winner);
      if (ec) {
        const bool cancelled = ec == error::cancelled || ec == asio::error::operation_aborted;
        out = {p.call.id, "the tool failed: " + ec.message(), true};
        if (!output.content.empty()) out.content += ": " + output.content;
        rec.outcome = cancelled ? "cancelled" : "failed";
      } else {
        out = {p.call.id, std::move(output.content), output.is_error};
        rec.outcome = output.is_error ? "error" : "ok";
      }
    } else if (!std::get<0>(std::get<1>(winner))) {  // the timer struck
      const bool agent_deadline = clock::now() >= s.deadline;
      out = {p.call.id,
             agent_deadline ? "the agent's deadline passed while the tool ran"
                            : "the tool did not answer within " + seconds(limit),
             true};
      rec.outcome = "timed_out";
    } else {
      out = {p.call.id, "cancelled", true};
      rec.outcome = "cancelled";
    }
  }
  out.content =
      agent_machine::cap_result(std::move(out.content), s.ctx->opts.limits.max_tool_result_bytes);
  if (out.is_error) rec.error = text::quote(out.content, 300);
  rec.duration = since(started);
  rec.result_bytes = out.content.size();
  s.ctx->emit({.kind = event_kind::tool_call_finished,
               .agent = s.agent,
               .text = rec.error,
               .turn = s.turn,
               .tool = rec.name,
               .bytes = rec.result_bytes,
               .duration = rec.duration});
}

// Takes the next call until none is left: `tool_concurrency` of these run a turn.
asio::awaitable<void> worker(turn_state& s) {
  while (s.next < s.calls.size()) co_await run_one(s, s.next++);
}

}  // namespace

asio::awaitable<std::vector<tool_result>> run_tool_turn(
    std::shared_ptr<run_context> ctx, std::size_t agent, int turn, std::vector<planned_call> calls,
    const std::vector<std::shared_ptr<tool>>& tools, clock::time_point deadline) {
  const std::size_t n = calls.size();
  turn_state s{ctx, agent, turn, std::move(calls), tools, deadline, {}, {}, 0};
  s.results.resize(n);
  s.records.resize(n);
  const auto started = clock::now();
  auto ex = co_await asio::this_coro::executor;
  const std::size_t workers = std::min<std::size_t>(
      n, static_cast<std::size_t>(std::max(1, ctx->opts.limits.tool_concurrency)));
  using op_type = decltype(asio::co_spawn(ex, worker(s), asio::deferred));
  std::vector<op_type> ops;
  ops.reserve(workers);
  for (std::size_t w = 0; w < workers; ++w)
    ops.push_back(asio::co_spawn(ex, worker(s), asio::deferred));
  co_await asio::experimental::make_parallel_group(std::move(ops))
      .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  agent_report& rep = ctx->report.agents[agent];
  rep.tool_time += since(started);
  for (auto& r : s.records) rep.tool_calls.push_back(std::move(r));
  co_return std::move(s.results);
}

}  // namespace conclave::detail
