#include "tool_turn.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/text.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <optional>
#include <tuple>

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
  const std::vector<std::string>& exclusive;
  clock::time_point deadline;
  std::vector<tool_result> results;
  std::vector<tool_call_record> records;
  std::size_t next = 0;
};

std::string seconds(std::chrono::milliseconds d) {
  const auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

// One tool call's outcome, shared with the call itself: the call is spawned on its own and
// may outlive the wait (a tool that ignores cancellation), so the turn never waits past the
// tool's timeout, the agent's deadline or a cancel for it.
struct pending_call {
  explicit pending_call(asio::any_io_executor ex) : wake(std::move(ex)) {}
  asio::steady_timer wake;  // expires at the call's limit; cancelled when the call ends
  asio::cancellation_signal cancel;
  std::optional<std::tuple<error_code, tool_output>> result;
};

// Runs the tool detached from the waiting coroutine; reports back through `p`.
asio::awaitable<void> invoke(std::shared_ptr<tool> t, std::string arguments,
                             std::shared_ptr<pending_call> p) {
  auto r = co_await t->async_invoke(std::move(arguments),
                                    asio::bind_cancellation_slot(p->cancel.slot(), use_tuple));
  p->result = std::move(r);
  p->wake.cancel();
}

// The resource a writing tool's call names: the string at the tool's `writes` argument.
std::string written_resource(const tool& t, std::string_view arguments) {
  const std::string& key = t.spec().writes;
  if (key.empty()) return {};
  boost::system::error_code ec;
  const auto v = boost::json::parse(arguments, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* at = o ? o->if_contains(key) : nullptr;
  if (!at || !at->is_string() || at->get_string().empty()) return {};
  return std::string(text::utf8_prefix(at->get_string(), 1024));
}

asio::awaitable<void> run_one(turn_state& s, std::size_t k) {
  const planned_call& p = s.calls[k];
  tool_result& out = s.results[k];
  tool_call_record& rec = s.records[k];
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
    const auto limit = s.ctx->opts.limits.tool_timeout;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(s.deadline - started);
    auto ex = co_await asio::this_coro::executor;
    auto cs = co_await asio::this_coro::cancellation_state;
    rec.resource = written_resource(*s.tools[p.tool], p.call.arguments);
    rec.resource_held = !rec.resource.empty() && std::find(s.exclusive.begin(), s.exclusive.end(),
                                                           rec.resource) != s.exclusive.end();
    auto pending = std::make_shared<pending_call>(ex);
    pending->wake.expires_after(std::max(std::min(limit, left), std::chrono::milliseconds(0)));
    // Spawned (it starts after a post, once the wait below is armed), not awaited.
    asio::co_spawn(ex, invoke(s.tools[p.tool], p.call.arguments, pending), asio::detached);
    error_code wake_ec;
    if (!pending->result) std::tie(wake_ec) = co_await pending->wake.async_wait(use_tuple);
    const bool cancelled =
        !pending->result && wake_ec && cs.cancelled() != asio::cancellation_type::none;
    if (pending->result) {
      auto& [ec, output] = *pending->result;
      if (ec) {
        out = {p.call.id, "the tool failed: " + ec.message(), true};
        if (!output.content.empty()) out.content += ": " + output.content;
        rec.outcome =
            ec == error::cancelled || ec == asio::error::operation_aborted ? "cancelled" : "failed";
      } else {
        out = {p.call.id, std::move(output.content), output.is_error};
        rec.outcome = output.is_error ? "error" : "ok";
      }
    } else {
      // Out of time, or the agent was stopped: the tool is told to stop, and not waited for.
      pending->cancel.emit(asio::cancellation_type::terminal);
      if (cancelled) {
        out = {p.call.id, "cancelled", true};
        rec.outcome = "cancelled";
      } else {
        out = {p.call.id,
               limit < left ? "the tool did not answer within " + seconds(limit)
                            : "the agent's deadline passed while the tool ran",
               true};
        rec.outcome = "timed_out";
      }
    }
  }
  out.content =
      agent_machine::cap_result(std::move(out.content), s.ctx->opts.limits.max_tool_result_bytes);
  rec.error = out.is_error ? text::quote(out.content, 300) : std::string();
  rec.duration = since(started);
  rec.result_bytes = out.content.size();
  s.ctx->emit({.kind = event_kind::tool_call_finished,
               .agent = s.agent,
               .text = rec.error,
               .turn = s.turn,
               .tool = rec.name,
               .bytes = rec.result_bytes,
               .duration = rec.duration,
               .resource = rec.resource,
               .held = rec.resource_held});
}

// Takes the next call until none is left: `tool_concurrency` of these run a turn.
// Once the agent is stopped no new call starts (those left keep their "cancelled" record), and
// nothing throws: a call that started still ends with its event and record.
asio::awaitable<void> worker(turn_state& s) {
  co_await asio::this_coro::throw_if_cancelled(false);
  auto cs = co_await asio::this_coro::cancellation_state;
  while (s.next < s.calls.size() && cs.cancelled() == asio::cancellation_type::none) {
    co_await run_one(s, s.next++);
  }
}

}  // namespace

asio::awaitable<std::vector<tool_result>> run_tool_turn(
    std::shared_ptr<run_context> ctx, agent_report& rep, int turn, std::vector<planned_call> calls,
    const std::vector<std::shared_ptr<tool>>& tools, const std::vector<std::string>& exclusive,
    clock::time_point deadline) {
  const std::size_t n = calls.size();
  turn_state s{ctx, rep.index, turn, std::move(calls), tools, exclusive, deadline, {}, {}, 0};
  // Every call has its record and result before any runs: a turn cut short (deadline, cancel)
  // leaves the calls that never ran marked as such, not blank.
  for (const auto& p : s.calls) {
    s.results.push_back({p.call.id, "cancelled: the agent stopped before this call ran", true});
    s.records.push_back({.name = p.call.name,
                         .turn = turn,
                         .outcome = "cancelled",
                         .arguments_bytes = p.call.arguments.size(),
                         .error = "the agent stopped before this call ran"});
  }
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
  rep.tool_time += since(started);
  for (auto& r : s.records) rep.tool_calls.push_back(std::move(r));
  co_return std::move(s.results);
}

}  // namespace conclave::detail
