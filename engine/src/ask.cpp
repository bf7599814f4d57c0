// The run, top to bottom: plan, execute the plan, combine; the report is the fold of the
// events these phases emit.
#include "phases.hpp"

#include <conclave/engine/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <tuple>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::detail {
namespace {

// Whether the caller cancelled: on_cancel says so, or (async_plan, bound to the caller's slot
// itself) the coroutine's own state.
asio::awaitable<bool> check_cancelled(run_context& ctx) {
  auto s = co_await asio::this_coro::cancellation_state;
  if (s.cancelled() != asio::cancellation_type::none) ctx.cancelled = true;
  co_return ctx.cancelled.load();
}

// The run-level outcome once the agents and the combine stage are done.
error_code outcome_of(run_context& ctx) {
  run_report& r = ctx.head;
  if (ctx.cancelled) return error::cancelled;
  if (ctx.fatal) {
    // One failure stopped the run (the provider refused the credentials): say it once.
    auto [ec, diag] = ctx.run_stopper();
    if (r.stop_note.empty()) r.stop_note = diag.message;
    if (diag.http_status != 0) r.stop_note += " (HTTP " + std::to_string(diag.http_status) + ")";
    r.degraded = true;
    return ec;
  }
  std::size_t answered = 0;
  for (const auto& a : ctx.agents()) answered += has_answer(a.status) && !a.answer.empty();
  if (answered == 0) {
    r.degraded = true;
    r.synthesis_note = "no agent produced a decision; nothing to synthesize";
    return ctx.budget.exhausted() ? error::budget_exhausted : error::all_agents_failed;
  }
  return {};
}

// A plan's `tools` narrow what the run has; a name the run does not have is a mistake (a typo
// would otherwise leave the agent without the tool, silently).
std::optional<plan_problem> unknown_tools(const plan& p,
                                          const std::vector<std::shared_ptr<tool>>& have) {
  std::string names;
  for (const auto& t : have) {
    if (t) names += (names.empty() ? "" : ", ") + t->spec().name;
  }
  for (const auto& s : p.subtasks) {
    if (!s.tools) continue;
    for (const auto& name : *s.tools) {
      const bool known = std::any_of(have.begin(), have.end(),
                                     [&](const auto& t) { return t && t->spec().name == name; });
      if (!known) {
        return plan_problem{"subtask " + s.id + " names tool \"" + name +
                                "\", which this run does not have (it has: " +
                                (names.empty() ? "no tools" : names) + ")",
                            {s.id}};
      }
    }
  }
  return std::nullopt;
}

asio::awaitable<error_code> run(std::shared_ptr<run_context> ctx, std::optional<plan> given) {
  // After a cancel, keep going just far enough to report what finished (STYLE item 8).
  co_await asio::this_coro::throw_if_cancelled(false);
  run_report& r = ctx->head;
  error_code outcome;
  if (given) {
    std::optional<plan_problem> problem = validate(*given);
    if (!problem) problem = unknown_tools(*given, ctx->opts.tools);
    if (problem) {
      // Refused before any call, naming what is wrong.
      r.stop_note = problem->message;
      r.degraded = true;
      given->subtasks.clear();
      outcome = error::invalid_plan;
    }
  }
  const plan p = co_await make_plan(ctx, std::move(given));
  if (!outcome && !ctx->fatal) {
    co_await execute_plan(ctx, p);  // cancelled already: every subtask still says so
    if (!co_await check_cancelled(*ctx) && !ctx->fatal) {
      co_await combine(ctx, p);
      co_await check_cancelled(*ctx);
    }
  }
  if (!outcome) outcome = outcome_of(*ctx);
  ctx->emit_part(event_kind::combined, 0, r.combine, r.synthesis_tokens);

  r.cost = ctx->budget.cost_spent();
  r.priced = !ctx->opts.budget.prices.empty();
  if (ctx->budget.exhausted()) {
    r.budget_exhausted = true;
    r.budget_note = ctx->budget.why() + (ctx->opts.budget.cancel_running
                                             ? "; running agents were stopped"
                                             : "; running agents finished, no new call started");
  }
  r.by_model = ctx->spend_so_far();
  r.wall = since(ctx->start);
  usage total = r.decomposition_tokens;
  total += r.synthesis_tokens;
  for (const auto& a : ctx->agents()) total += a.tokens;
  ctx->emit_part(event_kind::finished, 0,
                 outcome ? error_id(outcome) : (r.degraded ? "degraded" : "ok"), total);
  co_return outcome;
}

asio::awaitable<std::tuple<error_code, plan>> plan_only(std::shared_ptr<run_context> ctx) {
  co_await asio::this_coro::throw_if_cancelled(false);
  plan p = co_await make_plan(ctx, std::nullopt);
  error_code ec;
  if (co_await check_cancelled(*ctx)) {
    ec = error::cancelled;
  } else if (ctx->fatal) {
    ec = outcome_of(*ctx);
  }
  co_return std::tuple{ec, std::move(p)};
}

}  // namespace

void start_plan(engine& e, std::string question, ask_options opts,
                asio::any_completion_handler<plan_signature> handler) {
  auto ctx = std::make_shared<run_context>(e, std::move(question), std::move(opts));
  auto slot = asio::get_associated_cancellation_slot(handler);
  auto handler_ex = asio::get_associated_executor(handler, e.get_executor());
  // Bound to the run's strand, so that co_spawn passes the caller's cancel on there, where
  // the plan's coroutine runs, not on the caller's thread.
  auto finish = [ctx, handler_ex, h = std::move(handler)](std::exception_ptr ex,
                                                          std::tuple<error_code, plan> r) mutable {
    auto [ec, p] = std::move(r);
    if (ex) ec = error::internal_error;
    run_report head = ctx->head;
    asio::dispatch(handler_ex,
                   [h = std::move(h), ec, p = std::move(p), head = std::move(head)]() mutable {
                     std::move(h)(ec, std::move(p), std::move(head));
                   });
  };
  asio::co_spawn(
      ctx->strand, plan_only(ctx),
      asio::bind_cancellation_slot(slot, asio::bind_executor(ctx->strand, std::move(finish))));
}

void start_ask(engine& e, std::string question, ask_options opts, std::optional<plan> given,
               asio::any_completion_handler<ask_signature> handler) {
  auto ctx = std::make_shared<run_context>(e, std::move(question), std::move(opts));
  auto slot = asio::get_associated_cancellation_slot(handler);
  auto handler_ex = asio::get_associated_executor(handler, e.get_executor());
  // The caller's cancel reaches the run on its strand (on_cancel), never a wait directly.
  if (slot.is_connected()) {
    // A weak hold: a slot never cleared (its completion never ran) must not keep the run.
    slot.assign([w = std::weak_ptr<run_context>(ctx)](asio::cancellation_type) {
      if (auto c = w.lock()) asio::post(c->strand, [c] { c->on_cancel(); });
    });
  }
  asio::co_spawn(ctx->strand, run(ctx, std::move(given)),
                 asio::bind_cancellation_slot(
                     ctx->run_signal.slot(), [ctx, slot, handler_ex, h = std::move(handler)](
                                                 std::exception_ptr ex, error_code ec) mutable {
                       run_report report = ctx->take_report();
                       if (report.question.empty()) report.question = ctx->head.question;
                       if (ex) {
                         // A bug, not an expected failure: report it rather than lose the run.
                         ec = error::internal_error;
                         try {
                           std::rethrow_exception(ex);
                         } catch (const std::exception& x) {
                           report.synthesis_note = std::string("internal error: ") + x.what();
                         } catch (...) {
                           report.synthesis_note = "internal error";
                         }
                       }
                       // The run finished on its strand; the caller hears of it on its own
                       // executor, where its slot is emitted and so let go.
                       asio::dispatch(handler_ex, [slot, h = std::move(h), ec,
                                                   r = std::move(report)]() mutable {
                         if (slot.is_connected()) slot.clear();
                         std::move(h)(ec, std::move(r));
                       });
                     }));
}

}  // namespace conclave::detail
