#include "model_turn.hpp"
#include "phases.hpp"
#include "tool_turn.hpp"

#include <conclave/engine/agent_machine.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/text.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <optional>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::detail {
namespace {

// A reply that came back "ok" but holds no answer is a failure of its own (a refusal with
// nothing said is reported as such).
bool empty_answer(chat_response& response, agent_report& rep) {
  const bool blank = text::is_blank(response.text());
  if (!blank) return false;
  rep.status = agent_status::failed;
  rep.error = error::empty_answer;
  rep.diag = std::move(response.diag);
  rep.diag.message = response.stop == stop_reason::content_filter
                         ? "refused: the provider's content filter stopped the reply"
                     : response.stop == stop_reason::length
                         ? "the output token limit was reached before any answer"
                         : "the model finished without saying anything";
  return true;
}

// The conversation an agent starts with: the run's shared context, its role, its subtask and
// what its dependencies decided (decisions only); or, for a revision, the one it was given.
chat_request first_request(const run_context& ctx, const agent_task& task) {
  if (!task.revision.empty()) {
    chat_request r;
    r.messages = task.revision;
    return r;
  }
  session s(ctx.base_context);
  if (!task.role.empty()) s.add(role::system, "Your role: " + task.role);
  std::string ask = task.prompt;
  if (!task.given.empty()) {
    ask += "\n\nDecisions of the subtasks this one builds on:\n" + task.given;
  }
  s.add(role::user, std::move(ask));
  return s.to_request();
}

// The agent's loop: a model turn, the tools it asks for, their results back, and again, until
// a turn asks for no tool or a limit of the loop stops it.
asio::awaitable<void> agent_loop(std::shared_ptr<run_context> ctx, agent_report& rep,
                                 const agent_task& task, clock::time_point deadline,
                                 std::string& earlier_failure) {
  const auto& tools = task.tools;
  chat_request base = first_request(*ctx, task);
  base.stream = ctx->opts.stream;
  base.max_tokens = ctx->opts.max_output_tokens;
  base.temperature = ctx->opts.temperature;
  base.deadline = deadline;
  for (const auto& t : tools) base.tools.push_back(t->spec());
  agent_machine loop(ctx->opts.limits, base.tools, std::move(base.messages));

  model_position position{task.model, ctx->opts.fallback_models};
  const auto started = clock::now();
  for (agent_step step = loop.begin();;) {
    rep.latency = since(started);
    switch (step.what) {
      case agent_step::kind::call_model: {
        chat_response reply;
        const bool answered =
            co_await model_turn(ctx, rep, base, step.tools_allowed, loop.conversation(), step.turn,
                                deadline, position, earlier_failure, reply);
        rep.latency = since(started);
        if (!answered) co_return;
        rep.turns = step.turn;
        rep.stop = reply.stop;
        // A reply cut by the output limit keeps its calls (the wire says tool_use), but their
        // arguments may be incomplete: the machine refuses them, saying why.
        const bool cut = stop_reason_from(reply.finish_reason) == stop_reason::length;
        if (reply.stop == stop_reason::paused && !reply.message.has_tool_calls()) {
          step = loop.on_paused(std::move(reply.message));  // the answer goes on next turn
          break;
        }
        step = loop.on_reply(std::move(reply.message), cut);
        if (step.what == agent_step::kind::done && step.end == agent_end::answered) {
          reply.message = assistant_message(std::move(step.answer));
          if (empty_answer(reply, rep)) co_return;
          rep.status = agent_status::ok;
          rep.answer = reply.text();
          co_return;
        }
        break;
      }
      case agent_step::kind::run_tools: {
        auto results = co_await run_tool_turn(ctx, rep, step.turn, std::move(step.calls), tools,
                                              task.exclusive, deadline);
        step = loop.on_results(std::move(results));
        break;
      }
      case agent_step::kind::done:
        // A limit of the loop: what the agent said so far is kept, marked partial.
        rep.status =
            step.end == agent_end::stalled ? agent_status::stalled : agent_status::max_turns;
        rep.error = error::loop_limit;
        rep.diag = {};
        rep.diag.message = step.why;
        rep.answer = std::move(step.answer);
        co_return;
    }
  }
}

// One agent's state for its whole run, shared by its deadline, its stops and its completion;
// its loop works on it by reference. The report lives here, not in a coroutine: returned by
// value it sat in two frames and a co_spawn's (about 1.7 KiB per agent).
struct agent_run final : agent_stopper {
  agent_run(asio::any_io_executor ex, clock::time_point due, agent_task t)
      : agent_stopper(std::move(ex), due), task(std::move(t)) {}
  agent_task task;
  agent_report report;
  std::string earlier_failure;  // the last failed attempt, if any
};

// The report's first lines, before the agent runs.
void open_report(run_context& ctx, agent_run& run, clock::time_point queued_at) {
  agent_report& rep = run.report;
  rep.index = run.task.index;
  rep.id = run.task.id;
  rep.sub_question = run.task.prompt;
  rep.depends_on = run.task.depends_on;
  rep.queued = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - queued_at);
  rep.model_ref = ctx.models.worker().describe_model(run.task.model);  // even if never run
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

// Starts a running agent's loop, on its executor `ex`. Its deadline, a stop from the run and
// its caller's cancellation all emit one signal, the loop's cancellation. (Racing the loop
// against a second coroutine with `||` cost a parallel group and three frames per agent; a
// coroutine of its own to listen, another co_spawn.)
void launch_agent(std::shared_ptr<agent_run> run, std::shared_ptr<run_context> ctx,
                  asio::any_io_executor ex, asio::any_completion_handler<agent_signature> handler) {
  // On every way out, a thrown bug included (on `ex`, where the stopper lives): nothing
  // listens any more, and the deadline's wait ends now (a wait left pending would hold
  // io_context::run() until the agent's deadline). Then the caller's handler, on its executor.
  auto done = [run, ctx, ex, h = std::move(handler)](std::exception_ptr e) mutable {
    run->ended = true;
    run->signal.slot().clear();
    run->deadline.cancel();
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const boost::system::system_error& x) {
        // Cancelled between two of its steps: the report says how far it got. Any other
        // error is a bug, and is reported as one (not as a cancel).
        const bool cancel = x.code() == asio::error::operation_aborted;
        if (cancel || run->fired || run->caller_cancelled) {
          if (cancel && !run->fired) run->caller_cancelled = true;  // before it listened
          e = nullptr;
        }
      } catch (...) {
      }
    }
    agent_report rep;
    if (!e) {
      close_report(*ctx, *run, true, run->fired || run->caller_cancelled);
      rep = std::move(run->report);
    }
    asio::dispatch(ex, asio::append(std::move(h), e, std::move(rep)));  // on h's executor
  };
  agent_run& r = *run;
  const auto due = r.deadline.expiry();
  std::optional<asio::awaitable<void>> loop;
  try {  // the handler is in `done`: a throw before the loop starts must complete it
    r.deadline.async_wait([run](error_code ec) {
      if (run->ended || (ec && run->cause == stop_cause::none)) return;  // the agent ended first
      run->fired = true;
      run->signal.emit(asio::cancellation_type::terminal);
    });
    // A stop that reached the timer before it was waited on: its cancel found nothing to end.
    if (r.cause != stop_cause::none) r.deadline.cancel();
    loop.emplace(agent_loop(std::move(ctx), r.report, r.task, due, r.earlier_failure));
  } catch (...) {
    // Never inline: the caller may still be in its initiating function.
    asio::post(ex, asio::append(std::move(done), std::current_exception()));
    return;
  }
  asio::co_spawn(ex, std::move(*loop),
                 asio::bind_cancellation_slot(r.signal.slot(), std::move(done)));
  // A caller's cancel that came before the loop listened (its forward found no one): now.
  if (r.caller_cancelled) r.signal.emit(asio::cancellation_type::terminal);
}

}  // namespace

void start_agent(asio::any_io_executor ex, std::shared_ptr<run_context> ctx, agent_task task,
                 clock::time_point queued_at,
                 asio::any_completion_handler<agent_signature> handler) {
  // The agent's deadline counts from when it became ready (its dependencies done), waiting for
  // a slot included, and never passes the point where the run stops agents to keep time for
  // synthesis.
  const auto due = std::min(queued_at + ctx->opts.agent_timeout, ctx->agents_deadline());
  auto run = std::make_shared<agent_run>(ex, due, std::move(task));
  open_report(*ctx, *run, queued_at);
  ctx->register_stopper(run);  // then the checks: a stop either is seen here or reaches it
  if (refused_before_start(*ctx, run->report)) {
    close_report(*ctx, *run, false, false);
    // Never inline: on `ex`, then on the handler's own executor.
    asio::post(ex, asio::append(std::move(handler), std::exception_ptr(), std::move(run->report)));
    return;
  }
  // The caller's cancellation, assigned here, on the caller's side; what it stops is on `ex`.
  // Never cleared by the agent: its handler holds a weak reference only, and a clear from the
  // agent's side could race an emit on the caller's (a parallel group of deferred ops completes
  // its ops inline, wherever they end).
  asio::cancellation_slot caller = asio::get_associated_cancellation_slot(handler);
  if (caller.is_connected()) caller.assign(forward_caller_cancel{run, ex});
  // The rest on the agent's executor, where its timer and its signal live (a strand of its own
  // when the io_context runs on several threads). A cancel forwarded later queues behind it.
  asio::dispatch(
      ex, [run = std::move(run), ctx = std::move(ctx), ex, h = std::move(handler)]() mutable {
        launch_agent(std::move(run), std::move(ctx), std::move(ex), std::move(h));
      });
}

}  // namespace conclave::detail
