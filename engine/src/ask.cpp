// The ask pipeline, top to bottom: decompose, fan out, synthesize.
#include "phases.hpp"

#include <conclave/engine/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::detail {
namespace {

bool cancelled_now(asio::cancellation_state s) {
  return s.cancelled() != asio::cancellation_type::none;
}

asio::awaitable<error_code> run(std::shared_ptr<run_context> ctx) {
  // After a cancel, keep going just far enough to report what finished (STYLE item 8).
  co_await asio::this_coro::throw_if_cancelled(false);
  run_report& r = ctx->report;
  error_code outcome;

  co_await decompose(ctx);
  if (!cancelled_now(co_await asio::this_coro::cancellation_state) && !ctx->fatal) {
    co_await fan_out(ctx);
  }

  if (cancelled_now(co_await asio::this_coro::cancellation_state)) {
    outcome = error::cancelled;
    for (auto& a : r.agents) {  // agents that never got to run still say why
      if (a.attempts == 0 && a.status == agent_status::cancelled && !a.error)
        a.error = error::cancelled;
    }
  } else if (ctx->fatal) {
    // One failure stopped the run (the provider refused the credentials): say it once.
    auto [ec, diag] = ctx->run_stopper();
    outcome = ec;
    if (r.stop_note.empty()) r.stop_note = diag.message;
    if (diag.http_status != 0) r.stop_note += " (HTTP " + std::to_string(diag.http_status) + ")";
    r.degraded = true;
  } else if (r.answered() == 0) {
    outcome = ctx->budget.exhausted() ? error::budget_exhausted : error::all_agents_failed;
    r.degraded = true;
    r.synthesis_note = "no agent produced a decision; nothing to synthesize";
  } else if (r.agents.size() == 1 && r.agents[0].sub_question == r.question) {
    // One agent answered the question itself: its answer is the answer, no merge call.
    r.answer = r.agents[0].answer;
    if (r.agents[0].status != agent_status::ok) {
      r.degraded = true;
      r.synthesis_note = "the answer is partial: " + r.agents[0].diag.message;
    } else if (const char* mark = answer_mark(r.agents[0].stop); *mark) {
      r.degraded = true;
      r.synthesis_note = std::string("the answer is ") + mark;
    }
  } else {
    co_await synthesize(ctx);
    if (cancelled_now(co_await asio::this_coro::cancellation_state)) outcome = error::cancelled;
  }
  r.cost = ctx->budget.cost_spent();
  r.priced = !ctx->opts.budget.prices.empty();
  if (ctx->budget.exhausted()) {
    r.budget_exhausted = true;
    r.budget_note = ctx->budget.why() + (ctx->opts.budget.cancel_running
                                             ? "; running agents were stopped"
                                             : "; running agents finished, no new call started");
  }

  r.by_model = ctx->spend_so_far();
  r.wall = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - ctx->start);
  ctx->emit({.kind = event_kind::finished,
             .text = outcome ? error_id(outcome) : (r.degraded ? "degraded" : "ok"),
             .tokens = r.total_tokens()});
  co_return outcome;
}

}  // namespace

void start_ask(engine& e, std::string question, ask_options opts,
               asio::any_completion_handler<ask_signature> handler) {
  auto ctx = std::make_shared<run_context>(e, std::move(question), std::move(opts));
  auto slot = asio::get_associated_cancellation_slot(handler);
  auto handler_ex = asio::get_associated_executor(handler, e.get_executor());
  asio::co_spawn(
      ctx->strand, run(ctx),
      asio::bind_cancellation_slot(slot, [ctx, handler_ex, h = std::move(handler)](
                                             std::exception_ptr ex, error_code ec) mutable {
        if (ex) {
          // A bug, not an expected failure: report it rather than lose the run.
          ec = error::internal_error;
          try {
            std::rethrow_exception(ex);
          } catch (const std::exception& x) {
            ctx->report.synthesis_note = std::string("internal error: ") + x.what();
          } catch (...) {
            ctx->report.synthesis_note = "internal error";
          }
        }
        // The run finished on its strand; the caller hears of it on its own executor.
        asio::dispatch(handler_ex, [h = std::move(h), ec, ctx]() mutable {
          std::move(h)(ec, std::move(ctx->report));
        });
      }));
}

}  // namespace conclave::detail
