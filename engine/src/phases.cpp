#include "phases.hpp"

#include <conclave/engine/call_machine.hpp>
#include <conclave/engine/decompose.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/synthesis.hpp>
#include <conclave/engine/text.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::detail {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// What a run-level call spent: tokens of every attempt (cut ones included) and the attempts.
struct call_cost {
  usage tokens;
  int attempts = 0;
};

// One model call, retried per the policy (and the run's shared retry budget) until it
// succeeds, gives up, `deadline` passes, the run's token/cost budget is spent, or a failure
// stopped the run. `on_delta` (may be empty) sees streamed text; once some arrived, the call
// is not tried again.
asio::awaitable<std::tuple<error_code, chat_response>> call_with_retries(
    std::shared_ptr<run_context> ctx, model& m, chat_request req, clock::time_point deadline,
    call_cost& spent, delta_handler on_delta) {
  auto rng = ctx->jitter_source(0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  asio::steady_timer backoff(co_await asio::this_coro::executor);
  req.deadline = deadline;
  bool delivered = false;
  delta_handler watch;
  if (on_delta) {
    watch = [&delivered, &on_delta](const chat_delta& d) {
      // Only text is shown: reasoning and tool-call fragments never stop a retry.
      if (const auto* t = std::get_if<text_delta>(&d); t && !t->text.empty()) delivered = true;
      on_delta(d);
    };
  }
  call_machine call(ctx->opts.retry, req.model, {}, deadline, &ctx->retries);
  for (;;) {
    call_step step = call.next(clock::now(), ctx->refusal());
    if (step.what == call_step::kind::done) {
      chat_response refused;
      error_code why = error::budget_exhausted;
      if (step.refusal == call_refusal::run_stopped) {
        std::tie(why, refused.diag) = ctx->run_stopper();
      } else {
        refused.diag.message = ctx->budget.why();
      }
      co_return std::tuple{why, std::move(refused)};
    }
    spent.attempts = step.attempt;
    auto [ec, reply] = co_await m.async_complete(req, watch, use_tuple);
    spent.tokens += reply.tokens;
    ctx->charge(reply.model, req.model, m, reply.tokens);
    step = call.on_reply(clock::now(), ec, reply.diag, delivered, unit(rng));
    if (step.end == call_end::stops_the_run) {
      ctx->stop_run(ec, reply.diag, m.describe_model(req.model));
    }
    if (step.what == call_step::kind::done) {
      step.explain(reply.diag);
      co_return std::tuple{ec, std::move(reply)};
    }
    backoff.expires_after(step.delay);
    if (auto [wec] = co_await backoff.async_wait(use_tuple); wec) {
      co_return std::tuple{error_code(error::cancelled), chat_response{}};
    }
  }
}

// The same, cut off at `deadline`: a late call is cancelled and reported as error::timeout.
// `spent` is everything spent, the cut attempt included.
asio::awaitable<std::tuple<error_code, chat_response>> call_before(std::shared_ptr<run_context> ctx,
                                                                   model& m, chat_request req,
                                                                   clock::time_point deadline,
                                                                   call_cost& spent,
                                                                   delta_handler on_delta = {}) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  auto winner =
      co_await (call_with_retries(ctx, m, std::move(req), deadline, spent, std::move(on_delta)) ||
                timer.async_wait(use_tuple));
  std::tuple<error_code, chat_response> out;
  if (winner.index() == 0) {
    out = std::move(std::get<0>(winner));
  } else {
    const auto [timer_ec] = std::get<1>(winner);
    std::get<0>(out) = timer_ec ? error_code(error::cancelled) : error_code(error::timeout);
  }
  std::get<1>(out).tokens = spent.tokens;
  co_return out;
}

std::string agent_context(const run_context& ctx, std::size_t agents) {
  std::string text =
      "You are one of " + std::to_string(agents) +
      " expert agents working in parallel on parts of a larger question. Answer only the "
      "sub-question you are given, concisely, and end with your decision.\nThe larger question: " +
      ctx.report.question;
  if (!ctx.opts.agent_instructions.empty()) text += "\n" + ctx.opts.agent_instructions;
  return text;
}

}  // namespace

asio::awaitable<void> decompose(std::shared_ptr<run_context> ctx) {
  run_report& r = ctx->report;
  const int wanted = std::max(1, ctx->opts.agents);
  if (wanted == 1) {
    r.sub_questions = {r.question};
  } else {
    chat_request req;
    req.messages = decomposition_prompt(r.question, wanted);
    req.model =
        ctx->opts.decomposition_model.empty() ? ctx->opts.model : ctx->opts.decomposition_model;
    req.temperature = ctx->opts.temperature;
    r.decomposition_model_ref = ctx->models.decomposer().describe_model(req.model);
    const auto deadline = ctx->decomposition_deadline();
    const auto allowed =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    call_cost spent;
    auto [ec, reply] =
        co_await call_before(ctx, ctx->models.decomposer(), std::move(req), deadline, spent);
    r.decomposition_tokens = spent.tokens;
    r.decomposition_attempts = spent.attempts;
    r.decomposition_model = reply.model;
    if (!ec) r.sub_questions = parse_subquestions(reply.text(), wanted);
    if (ctx->fatal) {
      // Nothing can be asked with these credentials: no agents, one clear error.
      r.stop_note = reply.diag.message;
      ctx->emit({.kind = event_kind::decomposed,
                 .text = "the run stopped before any agent started",
                 .tokens = r.decomposition_tokens,
                 .count = 0});
      co_return;
    }
    if (r.sub_questions.empty()) {
      // Never none: one agent takes the whole question, and the events say why.
      r.decomposition_fallback = true;
      if (ec == error::cancelled) {
        r.decomposition_note = "cancelled before decomposition finished";
      } else if (ec == error::timeout) {
        char limit[32];
        std::snprintf(limit, sizeof limit, "%.1f s", static_cast<double>(allowed.count()) / 1000.0);
        r.decomposition_note = std::string("decomposition did not finish within its ") + limit +
                               " (deadline expired); one agent answers the whole question";
      } else if (ec) {
        r.decomposition_note = "decomposition failed (" + ec.message() +
                               (reply.diag.message.empty() ? "" : ": " + reply.diag.message) +
                               "); one agent answers the whole question";
      } else {
        r.decomposition_note =
            "decomposition reply held no sub-questions; one agent answers the whole question";
      }
      r.sub_questions = {r.question};
    }
  }
  r.agents.resize(r.sub_questions.size());
  for (std::size_t i = 0; i < r.agents.size(); ++i) {
    r.agents[i].index = i;
    r.agents[i].sub_question = r.sub_questions[i];
  }
  ctx->base_context = std::make_shared<const std::vector<chat_message>>(
      std::vector<chat_message>{{role::system, agent_context(*ctx, r.agents.size())}});
  ctx->emit({.kind = event_kind::decomposed,
             .text = r.decomposition_note,
             .tokens = r.decomposition_tokens,
             .count = r.sub_questions.size()});
}

asio::awaitable<void> fan_out(std::shared_ptr<run_context> ctx) {
  run_report& r = ctx->report;
  const auto t0 = clock::now();
  // Each agent on its own strand (Asio 1.81 races in cancellation_signal::emit otherwise,
  // when the io_context runs on several threads). Never empty: decompose() guarantees >= 1.
  using op_type = decltype(asio::co_spawn(ctx->strand, run_agent(ctx, 0), asio::deferred));
  std::vector<op_type> agents;
  agents.reserve(r.agents.size());
  for (std::size_t i = 0; i < r.agents.size(); ++i) {
    agents.push_back(asio::co_spawn(asio::make_strand(ctx->models.get_executor()),
                                    run_agent(ctx, i), asio::deferred));
  }
  auto [order, exceptions] = co_await asio::experimental::make_parallel_group(std::move(agents))
                                 .async_wait(asio::experimental::wait_for_all(), use_tuple);
  for (std::size_t i = 0; i < exceptions.size(); ++i) {
    if (!exceptions[i]) continue;
    // A bug, not an expected failure: still one entry per sub-question, saying so.
    agent_report& a = r.agents[i];
    a.status = agent_status::failed;
    a.error = error::internal_error;
    try {
      std::rethrow_exception(exceptions[i]);
    } catch (const std::exception& e) {
      a.diag.message = std::string("internal error: ") + e.what();
    } catch (...) {
      a.diag.message = "internal error";
    }
  }
  r.fan_out_wall = since(t0);
  for (const auto& a : r.agents) r.agent_time_sum += a.latency;
}

asio::awaitable<void> synthesize(std::shared_ptr<run_context> ctx) {
  run_report& r = ctx->report;
  const auto decisions = decisions_of(r.agents);
  std::string missing, partial;
  for (const auto& a : r.agents) {
    if (a.status == agent_status::ok) continue;
    std::string& list = has_answer(a.status) && !a.answer.empty() ? partial : missing;
    list +=
        (list.empty() ? "" : ", ") + std::to_string(a.index + 1) + " (" + to_string(a.status) + ")";
  }
  if (!missing.empty()) {
    r.degraded = true;
    r.synthesis_note = "no decision from sub-question " + missing;
  }
  if (!partial.empty()) {
    r.degraded = true;
    r.synthesis_note += (r.synthesis_note.empty() ? "" : "; ") +
                        std::string("a partial decision from sub-question ") + partial;
  }
  std::string why;
  const char* what = "synthesis failed: ";
  if (ctx->budget.exhausted()) {
    what = "no synthesis: ";
    why = ctx->budget.why();  // no new call: the decisions themselves are the answer
  } else {
    chat_request req;
    req.messages = synthesis_prompt(r.question, decisions, ctx->opts.max_decision_chars);
    req.model = ctx->opts.synthesis_model.empty() ? ctx->opts.model : ctx->opts.synthesis_model;
    req.temperature = ctx->opts.temperature;
    req.max_tokens = ctx->opts.max_output_tokens;
    req.stream = ctx->opts.stream_synthesis;
    r.synthesis_model_ref = ctx->models.synthesizer().describe_model(req.model);
    for (const auto& m : req.messages) r.synthesis_input_chars += m.size();
    ctx->emit({.kind = event_kind::synthesis_started, .count = r.answered()});
    call_cost spent;
    delta_handler on_delta;
    if (req.stream) {
      // The answer as it is written: run-level progress events (no agent index).
      on_delta = [ctx](const chat_delta& d) {
        if (const auto* t = std::get_if<text_delta>(&d))
          ctx->emit({.kind = event_kind::progress, .text = std::string(t->text)});
      };
    }
    auto [ec, reply] = co_await call_before(ctx, ctx->models.synthesizer(), std::move(req),
                                            ctx->run_deadline(), spent, std::move(on_delta));
    r.synthesis_tokens = spent.tokens;
    r.synthesis_attempts = spent.attempts;
    r.synthesis_model = reply.model;
    std::string words = reply.text();
    if (!ec && text::is_blank(words)) {
      ec = error::empty_answer;
    }
    if (!ec) {
      r.answer = std::move(words);
      if (const char* mark = answer_mark(reply.stop); *mark) {
        r.degraded = true;
        r.synthesis_note +=
            std::string(r.synthesis_note.empty() ? "" : "; ") + "the synthesized answer is " + mark;
      }
      co_return;
    }
    if (ec == error::cancelled) {
      // Interrupted: no merge and no listing; the caller shows what finished.
      r.degraded = true;
      r.synthesis_note +=
          std::string(r.synthesis_note.empty() ? "" : "; ") + "cancelled during synthesis";
      co_return;
    }
    why = ec.message() + (reply.diag.message.empty() ? "" : ": " + reply.diag.message);
  }
  // Never none: the decisions themselves, listed, are the degraded answer.
  r.degraded = true;
  r.synthesis_note += (r.synthesis_note.empty() ? "" : "; ") + (what + why);
  r.answer = fallback_answer(decisions, why);
}

}  // namespace conclave::detail
