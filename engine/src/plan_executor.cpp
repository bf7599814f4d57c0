// Runs a plan's subtasks as agents, each as soon as its own dependencies are done: no superstep
// barrier, so a fast branch never waits for a slow sibling. The sans-io plan_state decides what
// may start; this coroutine only starts agents and hears them finish, on the run's strand.
#include "phases.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/text.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::detail {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Agents report back here, on the run's strand; room for every subtask, so no send waits.
using done_channel = asio::experimental::channel<void(error_code, std::size_t, agent_report)>;
constexpr std::size_t n_none = static_cast<std::size_t>(-1);  // a wake-up carries no agent
constexpr std::size_t launch_slice = 64;  // agents started between two turns of the io_context

event_kind terminal_event(agent_status s) {
  switch (s) {
    case agent_status::ok:
      return event_kind::completed;
    case agent_status::failed:
      return event_kind::failed;
    case agent_status::timed_out:
      return event_kind::timed_out;
    case agent_status::cancelled:
      return event_kind::cancelled;
    case agent_status::max_turns:
    case agent_status::stalled:
      return event_kind::stopped;
    case agent_status::skipped:
      return event_kind::skipped;
  }
  return event_kind::failed;
}

// The tools subtask `i` may call: the run's, narrowed by the plan's list and tools_for.
std::vector<std::shared_ptr<tool>> tools_of(const run_context& ctx, const subtask& s,
                                            std::size_t i) {
  std::vector<std::shared_ptr<tool>> out;
  for (const auto& t : ctx.opts.tools) {
    if (!t || (ctx.opts.tools_for && !ctx.opts.tools_for(i, *t))) continue;
    if (s.tools && std::find(s.tools->begin(), s.tools->end(), t->spec().name) == s.tools->end())
      continue;
    out.push_back(t);
  }
  return out;
}

// What the dependencies decided, for a dependent: decisions only, each and all bounded.
std::string given_decisions(const run_context& ctx, const plan& p, const plan_state& state,
                            std::size_t i) {
  const std::size_t each = std::min<std::size_t>(ctx.opts.max_decision_chars, 1 << 20);
  const std::size_t total = each * 4;
  std::string out;
  for (std::size_t d : state.dependencies(i)) {
    static const agent_report never_ended;  // not reached: a dependent starts after them
    const agent_report* ended = ctx.agent(d);
    const agent_report& a = ended ? *ended : never_ended;
    std::string entry = "[" + p.subtasks[d].id + "] " +
                        std::string(text::utf8_prefix(p.subtasks[d].prompt, 300)) + "\n";
    if (has_answer(a.status) && !a.answer.empty()) {
      entry += "Decision: " + std::string(text::utf8_prefix(a.answer, each));
      if (a.answer.size() > each) entry += " [cut]";
    } else {
      entry += "No decision (" + std::string(to_string(a.status)) + ").";
    }
    if (out.size() + entry.size() > total) {
      out += "[further decisions left out: size limit]\n";
      break;
    }
    out += entry + "\n";
  }
  return out;
}

agent_task task_for(const run_context& ctx, const plan& p, const plan_state& state, std::size_t i) {
  const subtask& s = p.subtasks[i];
  return {.index = i,
          .id = s.id,
          .prompt = s.prompt,
          .role = s.role,
          .model = ctx.agent_model(i, s.model),
          .tools = tools_of(ctx, s, i),
          .exclusive = s.exclusive,
          .depends_on = s.depends_on,
          .given = given_decisions(ctx, p, state, i)};
}

// The report of a subtask that never ran.
agent_report not_run(const plan& p, std::size_t i, agent_status status, error_code why,
                     std::string detail) {
  agent_report r;
  r.index = i;
  r.id = p.subtasks[i].id;
  r.sub_question = p.subtasks[i].prompt;
  r.depends_on = p.subtasks[i].depends_on;
  r.status = status;
  r.error = why;
  r.diag.message = std::move(detail);
  return r;
}

}  // namespace

void emit_agent_end(run_context& ctx, agent_report rep) {
  std::string why;
  if (rep.status != agent_status::ok) {
    why = rep.error.message();
    if (!rep.diag.message.empty()) why += ": " + rep.diag.message;
  }
  const std::size_t i = rep.index;
  const event_kind kind = terminal_event(rep.status);
  const usage tokens = rep.tokens;
  const int attempts = rep.attempts;
  const stop_reason stop = rep.stop;
  ctx.emit({.kind = kind,
            .agent = i,
            .text = std::move(why),
            .tokens = tokens,
            .attempt = attempts,
            .stop = stop,
            .report = std::make_shared<const agent_report>(std::move(rep))});
}

asio::awaitable<void> execute_plan(std::shared_ptr<run_context> ctx, const plan& p) {
  const std::size_t n = p.subtasks.size();
  if (n == 0) co_return;
  plan_state state(p, static_cast<std::size_t>(ctx->opts.max_concurrency));
  const auto t0 = clock::now();
  const int turn_limit = ctx->opts.tools.empty() ? 1 : ctx->opts.limits.max_turns;
  for (std::size_t i = 0; i < n; ++i) {
    ctx->emit({.kind = event_kind::queued,
               .agent = i,
               .text = p.subtasks[i].prompt,
               .count = static_cast<std::size_t>(turn_limit)});
  }
  // Room for every report and one wake-up, so no send ever waits or fails.
  auto done = std::make_shared<done_channel>(ctx->strand, n + 1);
  ctx->wake = [done] { done->try_send(error_code(error::cancelled), n_none, agent_report{}); };
  struct clear_wake {  // on every way out: nothing waits on the channel any more
    run_context& ctx;
    ~clear_wake() { ctx.wake = nullptr; }
  } forget{*ctx};
  std::vector<clock::time_point> ready_at(n, t0);  // when its last dependency finished
  std::size_t running = 0;

  const recorded_run* replay = ctx->opts.replay.get();
  auto launch_one = [&](std::size_t i) {
    ++running;
    if (replay && (replay->plan_ran || ctx->head.planned)) {
      // A resumed run: an agent the journal saw finish is replayed, not paid for again; only
      // on the plan it ran (never an answer under a re-decomposed plan's other question).
      if (auto it = replay->finished.find(p.subtasks[i].id);
          it != replay->finished.end() && it->second.sub_question == p.subtasks[i].prompt) {
        agent_report rec = it->second;
        rec.index = i;
        rec.replayed = true;
        ctx->charge_recorded(rec.model_ref, rec.attempts, rec.tokens);
        done->try_send(error_code{}, i, std::move(rec));
        return;
      }
    }
    async_run_agent(
        agent_executor(ctx->models),  // its own strand, unless single-threaded
        ctx, task_for(*ctx, p, state, i), ready_at[i],
        // An agent that threw (a bug) is sent with its index and the words only; the loop
        // below, which has the plan, completes its entry. (A whole report made up front for
        // that case was held by every running agent's handler: about 1.7 KiB each.)
        asio::bind_executor(ctx->strand,
                            [done, i](std::exception_ptr ex, agent_report rep) mutable {
                              if (ex) {
                                rep = agent_report{};
                                rep.index = i;
                                rep.status = agent_status::failed;
                                rep.error = error::internal_error;
                                rep.diag.message = "internal error";
                                try {
                                  std::rethrow_exception(ex);
                                } catch (const std::exception& e) {
                                  rep.diag.message += std::string(": ") + e.what();
                                } catch (...) {
                                }
                              }
                              done->try_send(error_code{}, i, std::move(rep));
                            }));
  };
  // What is ready starts a slice at a time, with one turn of the io_context's queue between
  // slices: what the agents started so far began (their first steps, connects, writes, early
  // answers) goes on while the rest start, instead of waiting behind all of them. Launched in
  // one go, every agent of a wide plan had built its request and begun its connect before the
  // first one could send (test: the_io_context_runs_between_launch_slices); in heavy mode at
  // N = 2048 the agents also reach their model a slice at a time, not all after the last.
  // This does not bound how many requests wait for a connect at once: that is the
  // concurrency cap's job. An agent started after a cancel meanwhile is refused as cancelled.
  auto launch_ready = [&]() -> asio::awaitable<void> {
    std::size_t in_slice = 0;
    for (std::size_t i : state.start_ready()) {
      if (in_slice++ == launch_slice) {
        in_slice = 1;
        // One turn of the engine's executor; resumed on the run's strand (the coroutine's).
        co_await asio::post(ctx->models.get_executor(), asio::use_awaitable);
      }
      launch_one(i);
    }
  };
  auto skip = [&](const std::vector<std::size_t>& which, agent_status status, error_code why) {
    for (std::size_t k : which) {
      emit_agent_end(*ctx, not_run(p, k, status, why, std::string(state.skip_reason(k))));
    }
  };
  auto skip_if_cancelled = [&] {
    if (!ctx->cancelled) return false;
    skip(state.skip_waiting("the run was cancelled before this agent started"),
         agent_status::cancelled, error::cancelled);
    return true;
  };

  if (!skip_if_cancelled()) co_await launch_ready();
  while (running > 0) {
    // Not cancellable through the slot (see run_context::wake): a cancel arrives as a wake-up.
    auto [ec, i, rep] = co_await done->async_receive(
        asio::bind_cancellation_slot(asio::cancellation_slot(), use_tuple));
    if (ec) {
      skip_if_cancelled();
      continue;
    }
    --running;
    if (rep.error == error::internal_error && rep.id.empty()) {  // thrown: see launch_one
      rep = not_run(p, i, agent_status::failed, error::internal_error, std::move(rep.diag.message));
    }
    const bool succeeded = has_answer(rep.status) && !rep.answer.empty();
    const auto finished_at = clock::now();
    emit_agent_end(*ctx, std::move(rep));
    skip(state.finish(i, succeeded), agent_status::skipped, error::dependency_failed);
    for (std::size_t k : state.dependents(i)) ready_at[k] = std::max(ready_at[k], finished_at);
    if (!skip_if_cancelled()) co_await launch_ready();
  }
  // Whatever could never start (nothing left running to free it): said, never silent.
  skip(state.skip_waiting("the run ended before this agent could start"), agent_status::skipped,
       error::dependency_failed);

  ctx->head.fan_out_wall = since(t0);
  ctx->head.agent_time_sum = {};
  for (const auto& a : ctx->agents()) {
    if (!a.replayed) ctx->head.agent_time_sum += a.latency;  // a replay took no time here
  }
}

}  // namespace conclave::detail
