// The verify stage: judges grade decisions, and an agent whose decision failed revises it once
// per round. No all-to-all debate: a reviser sees the critique and the others' decisions only.
#include "phases.hpp"
#include "run_calls.hpp"

#include <conclave/engine/combine.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/synthesis.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::detail {
namespace {

struct graded {
  std::optional<judgment> verdict;  // empty: the judge's reply could not be read, or no call
  std::string trouble;              // why, then
};

asio::awaitable<graded> judge(std::shared_ptr<run_context> ctx, decision d) {
  graded out;
  if (ctx->budget.exhausted() || ctx->fatal) {
    out.trouble = "not judged: no new call may start";
    co_return out;
  }
  chat_request req;
  req.messages = judge_prompt(ctx->head.question, d, ctx->opts.max_decision_chars);
  req.model = ctx->opts.synthesis_model.empty() ? ctx->opts.model : ctx->opts.synthesis_model;
  req.temperature = ctx->opts.temperature;
  call_cost spent;
  // Judging is the agents' time, not synthesis's: it ends where the agents must.
  auto [ec, reply] = co_await call_before(ctx, ctx->models.synthesizer(), std::move(req),
                                          ctx->agents_deadline(), spent);
  ctx->head.synthesis_tokens += spent.tokens;
  ctx->head.synthesis_attempts += spent.attempts;
  if (ec) {
    out.trouble = "the judge's call failed (" + ec.message() + ")";
  } else if (!(out.verdict = parse_judgment(reply.text()))) {
    out.trouble = "the judge's reply held no verdict";
  }
  co_return out;
}

// A revision's report folded into the agent's: spend adds up; the answer is the new one when
// the revision answered, else the old one stays (and the critique says what happened).
agent_report merge_revision(agent_report before, agent_report after) {
  before.revisions += 1;
  before.attempts += after.attempts;
  before.tokens += after.tokens;
  before.latency += after.latency;
  before.turns += after.turns;
  for (auto& t : after.turn_tokens) before.turn_tokens.push_back(t);
  for (auto& m : after.models_tried) before.models_tried.push_back(std::move(m));
  if (has_answer(after.status) && !after.answer.empty() && after.status == agent_status::ok) {
    before.answer = std::move(after.answer);
    before.stop = after.stop;
    if (!after.model.empty()) before.model = std::move(after.model);
  } else {
    before.critique += " (the revision did not answer: " + after.error.message() +
                       (after.diag.message.empty() ? "" : ", " + after.diag.message) +
                       "; the first answer stands)";
  }
  return before;
}

// Runs `ops` at most `width` at a time (the run's concurrency cap), results in order.
template <typename Op, typename Result>
asio::awaitable<void> in_waves(std::vector<Op> ops, std::size_t width,
                               std::vector<std::exception_ptr>& errors,
                               std::vector<Result>& results) {
  for (std::size_t from = 0; from < ops.size(); from += width) {
    const std::size_t to = std::min(ops.size(), from + width);
    std::vector<Op> wave(std::make_move_iterator(ops.begin() + static_cast<std::ptrdiff_t>(from)),
                         std::make_move_iterator(ops.begin() + static_cast<std::ptrdiff_t>(to)));
    auto [order, e, r] = co_await asio::experimental::make_parallel_group(std::move(wave))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (std::size_t k = 0; k < e.size(); ++k) {
      errors.push_back(e[k]);
      results.push_back(std::move(r[k]));
    }
  }
}

// A reviser sees a few of the others' decisions (the prompt bounds their size anyway): never a
// copy of every decision per agent.
std::vector<decision> others_for(const std::vector<decision>& all, std::size_t self) {
  constexpr std::size_t most = 8;
  std::vector<decision> out;
  for (std::size_t j = 0; j < all.size() && out.size() < most; ++j) {
    if (j != self && !all[j].answer.empty()) out.push_back(all[j]);
  }
  return out;
}

}  // namespace

asio::awaitable<void> verify(std::shared_ptr<run_context> ctx, const plan& p) {
  using judge_op = decltype(asio::co_spawn(ctx->strand, judge(ctx, decision{}), asio::deferred));
  using agent_op =
      decltype(async_run_agent(ctx->strand, ctx, agent_task{}, clock::now(), asio::deferred));
  const auto width = static_cast<std::size_t>(ctx->opts.max_concurrency);
  auto stopped = [&ctx] { return ctx->cancelled || ctx->fatal || ctx->budget.exhausted(); };
  std::vector<std::size_t> in_question;  // round 1: every decision; then only the revised ones
  for (const auto& a : ctx->agents()) {
    if (has_answer(a.status) && !a.answer.empty()) in_question.push_back(a.index);
  }
  std::string unread;
  for (int round = 1; round <= p.verify_rounds && !in_question.empty() && !stopped(); ++round) {
    ctx->head.verify_rounds = round;
    const auto decisions = decisions_of(ctx->agents());
    std::vector<judge_op> judges;
    for (std::size_t i : in_question) {
      judges.push_back(asio::co_spawn(ctx->strand, judge(ctx, decisions[i]), asio::deferred));
    }
    std::vector<std::exception_ptr> errors;
    std::vector<graded> grades;
    co_await in_waves(std::move(judges), width, errors, grades);
    std::vector<std::size_t> failed;
    for (std::size_t k = 0; k < in_question.size(); ++k) {
      const std::size_t i = in_question[k];
      agent_report rep = ctx->agents()[i];
      if (errors[k] || !grades[k].verdict) {
        unread += (unread.empty() ? "" : ", ") + std::to_string(i + 1) +
                  (errors[k] ? " (internal error)" : " (" + grades[k].trouble + ")");
        continue;
      }
      rep.verdict = to_string(grades[k].verdict->grade);
      rep.critique = grades[k].verdict->critique;
      if (grades[k].verdict->grade == verdict::fail) failed.push_back(i);
      ctx->emit({.kind = event_kind::judged,
                 .agent = i,
                 .text = rep.verdict,
                 .report = std::make_shared<const agent_report>(std::move(rep))});
    }
    if (failed.empty() || stopped()) break;
    std::vector<agent_op> revisions;
    for (std::size_t i : failed) {
      const agent_report& a = ctx->agents()[i];
      const subtask& s = p.subtasks[i];
      agent_task task{.index = i,
                      .id = s.id,
                      .prompt = s.prompt,
                      .role = s.role,
                      .model = ctx->agent_model(i, s.model),
                      .depends_on = s.depends_on};
      task.revision = revise_prompt(ctx->head.question, s.prompt, a.answer, a.critique,
                                    others_for(decisions, i), ctx->opts.max_decision_chars);
      if (p.combine == combine_mode::vote) {  // the revised answer still ends with its vote
        task.revision.insert(task.revision.begin() + 1,
                             chat_message{role::system, std::string(vote_instruction())});
      }
      revisions.push_back(async_run_agent(agent_executor(ctx->models), ctx, std::move(task),
                                          clock::now(), asio::deferred));
    }
    std::vector<std::exception_ptr> rerrors;
    std::vector<agent_report> revised;
    co_await in_waves(std::move(revisions), width, rerrors, revised);
    for (std::size_t k = 0; k < failed.size(); ++k) {
      agent_report after = std::move(revised[k]);
      if (rerrors[k]) {
        after = {};
        after.status = agent_status::failed;
        after.error = error::internal_error;
      }
      emit_agent_end(*ctx, merge_revision(ctx->agents()[failed[k]], std::move(after)));
    }
    in_question = std::move(failed);
  }
  if (!unread.empty()) ctx->head.combine_note = "not judged: agent " + unread;
}

}  // namespace conclave::detail
