// The agent's loop: a model turn, the tools it asks for, their results back, and again, until
// a turn asks for no tool or a limit of the loop stops it. Each step starts one operation whose
// handler holds the agent's state and takes the next step; the loop's signal (agent_stopper)
// cancels whichever is pending, and no step starts once it was emitted.
#include "agent_run.hpp"
#include "tool_turn.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/text.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>

#include <utility>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::detail {
namespace {

using run_ptr = std::shared_ptr<agent_run>;

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

// A step's work, run from a handler: a bug it throws ends the agent with that exception rather
// than escaping into the io_context's run(). Once the agent's handler was called, an exception
// is that handler's own, and goes on out of run().
template <typename Step>
void guarded(const run_ptr& run, Step&& step) {
  try {
    step();
  } catch (...) {
    if (run->ended) throw;
    agent_finish(run, std::current_exception());
  }
}

// A handler for one of the loop's operations: on the agent's executor, cancelled by its signal;
// a completion after the agent ended is ignored, and its step runs guarded.
template <typename Step>
auto loop_handler(const run_ptr& run, Step step) {
  return asio::bind_cancellation_slot(
      run->signal.slot(),
      asio::bind_executor(run->executor(), [run, step = std::move(step)](auto&&... args) mutable {
        if (run->ended) return;
        guarded(run, [&] { step(std::forward<decltype(args)>(args)...); });
      }));
}

// Streamed text goes out as progress events. Holds the agent by pointer only (it fits
// std::function's inline storage): the model call's handler keeps the agent alive meanwhile.
struct progress_sink {
  agent_run* run;
  void operator()(const chat_delta& delta) const {
    // Only text reaches anyone: reasoning and tool-call fragments never stop a retry.
    if (const auto* t = std::get_if<text_delta>(&delta); t && !t->text.empty()) {
      run->delivered = true;
      run->ctx->emit_progress(run->report.index, std::string(t->text));
    }
  }
};

void advance(const run_ptr& run);

// The turn's model call ended: with its answer, or without (the report says why).
void turn_ended(const run_ptr& run, std::optional<chat_response> reply) {
  agent_run& r = *run;
  r.turn.reset();  // writes where the call ended into r.position
  agent_report& rep = r.report;
  rep.latency = since(r.started);
  if (!reply) return agent_finish(run, nullptr);
  rep.turns = r.step.turn;
  rep.stop = reply->stop;
  // A reply cut by the output limit keeps its calls (the wire says tool_use), but their
  // arguments may be incomplete: the machine refuses them, saying why.
  const bool cut = stop_reason_from(reply->finish_reason) == stop_reason::length;
  if (reply->stop == stop_reason::paused && !reply->message.has_tool_calls()) {
    r.step = r.loop->on_paused(std::move(reply->message));  // the answer goes on next turn
    return advance(run);
  }
  r.step = r.loop->on_reply(std::move(reply->message), cut);
  if (r.step.what == agent_step::kind::done && r.step.end == agent_end::answered) {
    reply->message = assistant_message(std::move(r.step.answer));
    if (!empty_answer(*reply, rep)) {
      rep.status = agent_status::ok;
      rep.answer = reply->text();
    }
    return agent_finish(run, nullptr);
  }
  advance(run);
}

void on_model_reply(const run_ptr& run, const error_code& ec, chat_response response);

// One attempt of the turn's model call: this attempt's request, consumed by the model (encoded,
// then freed) rather than kept here for the length of the call.
void attempt(const run_ptr& run) {
  agent_run& r = *run;
  if (r.stopping()) return turn_ended(run, std::nullopt);
  std::optional<std::string> asked = r.turn->next_attempt();
  if (!asked) return turn_ended(run, std::nullopt);
  chat_request req = r.base;
  req.model = std::move(*asked);
  const auto& own = r.loop->conversation();
  req.messages.reserve((r.context ? r.context->size() : 0) + own.size());
  if (r.context) req.messages.assign(r.context->begin(), r.context->end());
  req.messages.insert(req.messages.end(), own.begin(), own.end());
  if (!r.step.tools_allowed) req.choice.how = tool_choice::mode::none;  // answer now
  r.delivered = false;
  r.ctx->models.worker().async_complete(
      std::move(req), progress_sink{&r},
      loop_handler(run, [run](error_code ec, chat_response response) {
        on_model_reply(run, ec, std::move(response));
      }));
}

void on_model_reply(const run_ptr& run, const error_code& ec, chat_response response) {
  agent_run& r = *run;
  const model_turn::outcome next = r.turn->on_reply(ec, response, r.delivered);
  switch (next.what) {
    case model_turn::verdict::answered:
      return turn_ended(run, std::move(response));
    case model_turn::verdict::failed:
      return turn_ended(run, std::nullopt);
    case model_turn::verdict::retry:
      break;
  }
  if (next.delay <= clock::duration::zero()) return attempt(run);
  if (r.stopping()) return turn_ended(run, std::nullopt);
  if (!r.backoff) r.backoff = std::make_unique<asio::steady_timer>(r.executor());
  r.backoff->expires_after(next.delay);
  r.backoff->async_wait(loop_handler(
      run, [run](error_code wec) { wec ? turn_ended(run, std::nullopt) : attempt(run); }));
}

void run_tools(const run_ptr& run) {
  agent_run& r = *run;
  asio::co_spawn(r.executor(),
                 run_tool_turn(r.ctx, r.report, r.step.turn, std::move(r.step.calls), r.tools,
                               r.exclusive, r.due()),
                 loop_handler(run, [run](std::exception_ptr e, std::vector<tool_result> results) {
                   if (e) return agent_finish(run, e);
                   run->step = run->loop->on_results(std::move(results));
                   advance(run);
                 }));
}

// Takes the step the machine asked for.
void advance(const run_ptr& run) {
  agent_run& r = *run;
  agent_report& rep = r.report;
  rep.latency = since(r.started);
  if (r.stopping()) return agent_finish(run, nullptr);
  switch (r.step.what) {
    case agent_step::kind::call_model:
      r.turn.emplace(*r.ctx, rep, r.step.turn, r.due(), r.position, r.earlier_failure);
      return attempt(run);
    case agent_step::kind::run_tools:
      return run_tools(run);
    case agent_step::kind::done:
      // A limit of the loop: what the agent said so far is kept, marked partial.
      rep.status =
          r.step.end == agent_end::stalled ? agent_status::stalled : agent_status::max_turns;
      rep.error = error::loop_limit;
      rep.diag = {};
      rep.diag.message = r.step.why;
      rep.answer = std::move(r.step.answer);
      return agent_finish(run, nullptr);
  }
}

}  // namespace

// The conversation an agent starts with: its role, its subtask and what its dependencies
// decided (decisions only); or, for a revision, the one it was given. The run's shared context
// goes before it in every request (agent_run::context) and is not copied into each agent's.
// The task's texts are moved in, not copied: the conversation holds them from here on (the
// report has its own sub-question), and an agent waiting on its model holds them once.
std::vector<chat_message> first_conversation(agent_task& task) {
  if (!task.revision.empty()) return std::move(task.revision);
  std::vector<chat_message> out;
  out.reserve(task.role.empty() ? 1 : 2);
  if (!task.role.empty())
    out.emplace_back(role::system, "Your role: " + std::exchange(task.role, {}));
  std::string ask = std::move(task.prompt);
  if (!task.given.empty()) {
    ask += "\n\nDecisions of the subtasks this one builds on:\n" + std::exchange(task.given, {});
  }
  out.emplace_back(role::user, std::move(ask));
  return out;
}

void loop_begin(const std::shared_ptr<agent_run>& run) {
  guarded(run, [&] {
    agent_run& r = *run;
    const run_context& ctx = *r.ctx;
    std::vector<chat_message> start = std::exchange(r.start, {});
    r.base.stream = ctx.opts.stream;
    r.base.max_tokens = ctx.opts.max_output_tokens;
    r.base.temperature = ctx.opts.temperature;
    r.base.deadline = r.due();
    for (const auto& t : r.tools) r.base.tools.push_back(t->spec());
    r.loop.emplace(ctx.opts.limits, r.base.tools, std::move(start));
    r.position = {std::move(r.start_model), ctx.opts.fallback_models};
    r.started = clock::now();
    r.step = r.loop->begin();
    advance(run);
  });
}

}  // namespace conclave::detail
