// Where a run's plan comes from: given, trivial, or one decomposition call.
#include "phases.hpp"
#include "run_calls.hpp"

#include <conclave/engine/combine.hpp>
#include <conclave/engine/decompose.hpp>
#include <conclave/engine/error.hpp>

#include <cstdio>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::detail {
namespace {

// `n` subtasks on the question itself: self-consistency for vote and select, or one agent.
plan same_question(const std::string& question, int n) {
  plan p;
  p.question = question;
  for (int i = 0; i < std::max(1, n); ++i) {
    p.subtasks.push_back({.id = "s" + std::to_string(i + 1), .prompt = question});
  }
  return p;
}

std::string agent_context(const run_context& ctx, const plan& p) {
  const std::size_t agents = p.subtasks.size();
  const bool whole = p.combine != combine_mode::synthesize && !ctx.head.planned;
  std::string text =
      whole ? "You are one of " + std::to_string(agents) +
                  " expert agents answering the same question independently. Answer it "
                  "concisely and end with your decision.\nThe question: " +
                  ctx.head.question
            : "You are one of " + std::to_string(agents) +
                  " expert agents working in parallel on parts of a larger question. Answer "
                  "only the sub-question you are given, concisely, and end with your "
                  "decision.\nThe larger question: " +
                  ctx.head.question;
  if (p.combine == combine_mode::vote) text += "\n" + std::string(vote_instruction());
  if (!ctx.opts.agent_instructions.empty()) text += "\n" + ctx.opts.agent_instructions;
  return text;
}

// Why decomposition fell back to one agent, in words a reader can act on.
std::string fallback_note(const error_code& ec, const chat_response& reply,
                          std::chrono::milliseconds allowed) {
  if (ec == error::cancelled) return "cancelled before decomposition finished";
  if (ec == error::timeout) {
    char limit[32];
    std::snprintf(limit, sizeof limit, "%.1f s", static_cast<double>(allowed.count()) / 1000.0);
    return std::string("decomposition did not finish within its ") + limit +
           " (deadline expired); one agent answers the whole question";
  }
  if (ec) {
    return "decomposition failed (" + ec.message() +
           (reply.diag.message.empty() ? "" : ": " + reply.diag.message) +
           "); one agent answers the whole question";
  }
  return "decomposition reply held no sub-questions; one agent answers the whole question";
}

// One decomposition call; the plan it yields, or one subtask on the question.
asio::awaitable<plan> decompose(std::shared_ptr<run_context> ctx) {
  run_report& r = ctx->head;
  chat_request req;
  req.messages = plan_prompt(r.question, ctx->opts.agents, ctx->opts.max_agents);
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
  const int most = ctx->opts.agents > 0 ? ctx->opts.agents : ctx->opts.max_agents;
  plan p;
  if (!ec) p = parse_decomposition(reply.text(), most);
  if (ctx->opts.agents == 0 && p.subtasks.size() == 1) {
    // The decomposer chose one (a simple fact): the question is asked as it is, and the answer
    // needs no merge call.
    p.subtasks[0].prompt = r.question;
    p.subtasks[0].depends_on.clear();
  }
  p.question = r.question;
  if (ctx->fatal) {
    r.stop_note = reply.diag.message;  // nothing can be asked with these credentials
    p.subtasks.clear();
    co_return p;
  }
  if (p.subtasks.empty()) {
    // Never none: one agent takes the whole question, and the events say why.
    r.decomposition_fallback = true;
    r.decomposition_note = fallback_note(ec, reply, allowed);
    p = same_question(r.question, 1);
  }
  co_return p;
}

}  // namespace

asio::awaitable<plan> make_plan(std::shared_ptr<run_context> ctx, std::optional<plan> given) {
  run_report& r = ctx->head;
  plan p;
  const recorded_run* replay = ctx->opts.replay.get();
  if (given) {
    p = std::move(*given);
    r.planned = true;
  } else if (replay && replay->plan_ran) {
    // A resumed run: the plan it was running, and what its decomposition cost then.
    p = *replay->plan_ran;
    const run_report& was = replay->decomposition;
    r.planned = was.planned;
    r.decomposition_fallback = was.decomposition_fallback;
    r.decomposition_note = was.decomposition_note;
    r.decomposition_model = was.decomposition_model;
    r.decomposition_model_ref = was.decomposition_model_ref;
    r.decomposition_attempts = was.decomposition_attempts;
    r.decomposition_tokens = was.decomposition_tokens;
    if (was.decomposition_attempts > 0) {
      ctx->charge_recorded(was.decomposition_model_ref, was.decomposition_attempts,
                           was.decomposition_tokens);
    }
  } else if (ctx->opts.agents == 1) {
    p = same_question(r.question, 1);
  } else if (ctx->opts.combine != combine_mode::synthesize) {
    p = same_question(r.question, ctx->opts.agents > 0 ? ctx->opts.agents : 3);
  } else {
    p = co_await decompose(ctx);
  }
  if (!given && !(replay && replay->plan_ran)) {
    p.combine = ctx->opts.combine;
    p.verify = ctx->opts.verify;
    p.verify_rounds = ctx->opts.verify_rounds;
  }
  if (replay) {
    // Attempts of agents that never finished were paid for too: the budget counts them.
    for (const auto& [ref, tokens] : replay->other_spend) ctx->charge_recorded(ref, 1, tokens);
  }
  r.combine = to_string(p.combine);
  r.sub_questions.clear();
  for (const auto& s : p.subtasks) r.sub_questions.push_back(s.prompt);
  ctx->base_context = std::make_shared<const std::vector<chat_message>>(
      std::vector<chat_message>{{role::system, agent_context(*ctx, p)}});
  std::string note = ctx->fatal ? "the run stopped before any agent started" : r.decomposition_note;
  ctx->emit({.kind = event_kind::decomposed,
             .text = std::move(note),
             .tokens = r.decomposition_tokens,
             .count = p.subtasks.size(),
             .run = std::make_shared<const run_report>(r),
             .full_plan = std::make_shared<const plan>(p)});
  co_return p;
}

}  // namespace conclave::detail
