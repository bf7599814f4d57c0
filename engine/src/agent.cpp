// An agent's life around its loop: started or refused, stopped by its deadline, the run or its
// caller, and its report opened and closed.
#include "agent_run.hpp"

#include <conclave/engine/error.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::detail {
namespace {

// The report's first lines, before the agent runs.
void open_report(run_context& ctx, agent_run& run, clock::time_point queued_at) {
  agent_report& rep = run.report;  // its index, id and sub-question set by agent_run
  rep.queued = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - queued_at);
  rep.model_ref = ctx.models.worker().describe_model(run.start_model);  // even if never run
}

// An agent that must not start: the budget is spent, the run stopped, or it was cancelled.
bool refused_before_start(run_context& ctx, agent_report& rep) {
  if (ctx.stopped_by_budget) {
    refuse_for_budget(ctx, rep);
  } else if (ctx.fatal) {
    refuse_for_stopped_run(ctx, rep);
  } else if (ctx.cancelled) {
    rep.status = agent_status::cancelled;
  } else {
    return false;
  }
  return true;
}

// What stopped a running agent (its deadline, a stop from the run, its caller), unless it had
// its answer: an agent that has one keeps it, whatever stopped it a moment later.
void explain_stop(run_context& ctx, agent_run& run) {
  agent_report& rep = run.report;
  switch (run.cause) {
    case stop_cause::budget:
      refuse_for_budget(ctx, rep);
      rep.diag.message = ctx.budget.why() + "; this agent was stopped while running";
      break;
    case stop_cause::run_stopped:
      refuse_for_stopped_run(ctx, rep);
      rep.diag.message = "stopped: the run ended after " + rep.error.message();
      break;
    case stop_cause::cancelled:
      rep.status = agent_status::cancelled;
      rep.error = error::cancelled;
      rep.diag.message = "the run was cancelled";
      break;
    case stop_cause::none:
      if (run.caller_cancelled) {  // a group around the agent cancelled it
        rep.status = agent_status::cancelled;
        rep.error = error::cancelled;
        rep.diag.message = "the run was cancelled";
        break;
      }
      rep.status = agent_status::timed_out;
      rep.error = error::timeout;
      rep.diag.message = clock::now() >= ctx.agents_deadline()
                             ? "the run's deadline stopped this agent to leave time for synthesis"
                             : "the agent's deadline expired";
      break;
  }
  if (!run.earlier_failure.empty() &&
      (rep.status == agent_status::timed_out || rep.status == agent_status::cancelled)) {
    rep.diag.message += "; last error: " + run.earlier_failure;  // what a reader needs to act
  }
}

// The report's last word. `ran`: its loop ran; `stopped`: and something stopped it.
void close_report(run_context& ctx, agent_run& run, bool ran, bool stopped) {
  agent_report& rep = run.report;
  if (stopped && rep.status != agent_status::ok) explain_stop(ctx, run);
  if (ran && !stopped && rep.status == agent_status::cancelled) {
    rep.diag.message = "the run was cancelled";  // not the transport's "Operation canceled"
  }
  if (rep.status != agent_status::ok && !rep.error) {
    rep.error = rep.status == agent_status::cancelled ? error::cancelled : error::timeout;
  }
  if (rep.status == agent_status::cancelled && rep.diag.message.empty()) {
    rep.diag.message = "the run was cancelled";
  }
}

// Passes a caller's cancellation on to the agent. The caller's slot is emitted on the caller's
// executor; the agent's state lives on `ex`: the handler only forwards it there (on one
// thread, inline). Only terminal: a loop cut anywhere cannot promise what partial or total
// cancellation asks for. An agent that ended first ignores it.
struct forward_caller_cancel {
  std::weak_ptr<agent_run> run;
  asio::any_io_executor ex;
  void operator()(asio::cancellation_type type) const {
    if ((type & asio::cancellation_type::terminal) == asio::cancellation_type::none) return;
    asio::dispatch(ex, [w = run] {
      auto r = w.lock();
      if (!r || r->ended) return;
      r->caller_cancelled = true;
      r->signal.emit(asio::cancellation_type::terminal);
    });
  }
};

// Starts a running agent's loop, on its executor. Its deadline, a stop from the run and its
// caller's cancellation all emit one signal, the loop's cancellation. (Racing the loop against
// a second coroutine with `||` cost a parallel group and three frames per agent; a coroutine of
// its own to listen, another co_spawn.)
void launch_agent(const std::shared_ptr<agent_run>& run) {
  agent_run& r = *run;
  try {  // a throw before the loop starts must complete the handler too
    r.deadline.async_wait([run](error_code ec) {
      if (run->ended || (ec && run->cause == stop_cause::none)) return;  // the agent ended first
      run->fired = true;
      run->signal.emit(asio::cancellation_type::terminal);
    });
    // A stop that reached the timer before it was waited on: its cancel found nothing to end.
    if (r.cause != stop_cause::none) r.deadline.cancel();
  } catch (...) {
    return agent_finish(run, std::current_exception());
  }
  loop_begin(run);  // a caller's cancel that came first is seen by its first step
}

}  // namespace

void agent_finish(const std::shared_ptr<agent_run>& run, std::exception_ptr bug) {
  // On every way out, a thrown bug included: nothing listens any more, and the deadline's wait
  // ends now (a wait left pending would hold io_context::run() until the agent's deadline).
  // Then the caller's handler, on its executor.
  run->signal.slot().clear();
  run->deadline.cancel();
  if (bug) {
    try {
      std::rethrow_exception(bug);
    } catch (const boost::system::system_error& x) {
      // Cancelled between two of its steps (a tool turn's coroutine): the report says how far
      // it got. Any other error is a bug, and is reported as one (not as a cancel).
      const bool cancel = x.code() == asio::error::operation_aborted;
      if (cancel || run->stopping()) {
        if (cancel && !run->fired) run->caller_cancelled = true;
        bug = nullptr;
      }
    } catch (...) {
    }
  }
  agent_report rep;
  if (!bug) {
    close_report(*run->ctx, *run, true, run->stopping());
    rep = std::move(run->report);
  }
  run->ended = true;  // last: a throw before it leaves the agent to finish with that bug
  asio::dispatch(run->executor(), asio::append(std::move(run->handler), bug, std::move(rep)));
}

void start_agent(asio::any_io_executor ex, std::shared_ptr<run_context> ctx, agent_task task,
                 clock::time_point queued_at,
                 asio::any_completion_handler<agent_signature> handler) {
  // The agent's deadline counts from when it became ready (its dependencies done), waiting for
  // a slot included, and never passes the point where the run stops agents to keep time for
  // synthesis.
  const auto due = std::min(queued_at + ctx->opts.agent_timeout, ctx->agents_deadline());
  auto run = std::make_shared<agent_run>(ex, due, std::move(task), ctx, std::move(handler));
  open_report(*ctx, *run, queued_at);
  ctx->register_stopper(run);  // then the checks: a stop either is seen here or reaches it
  if (refused_before_start(*ctx, run->report)) {
    close_report(*ctx, *run, false, false);
    // Never inline: on `ex`, then on the handler's own executor.
    asio::post(ex,
               asio::append(std::move(run->handler), std::exception_ptr(), std::move(run->report)));
    return;
  }
  // The caller's cancellation, assigned here, on the caller's side; what it stops is on `ex`.
  // Never cleared by the agent: its handler holds a weak reference only, and a clear from the
  // agent's side could race an emit on the caller's (a parallel group of deferred ops completes
  // its ops inline, wherever they end).
  asio::cancellation_slot caller = asio::get_associated_cancellation_slot(run->handler);
  if (caller.is_connected()) caller.assign(forward_caller_cancel{run, ex});
  // The rest on the agent's executor, where its timer and its signal live (a strand of its own
  // when the io_context runs on several threads); never inline, as the agent may end at its
  // first step. A cancel forwarded later queues behind it.
  asio::post(ex, [run = std::move(run)] { launch_agent(run); });
}

}  // namespace conclave::detail
