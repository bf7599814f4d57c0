// The decisions become one answer: synthesized (one merge call), voted (no call: the majority of
// short answers) or selected (one call picks the most consistent). The combine stage sees only
// decisions, never dialogues. The verify stage (verify_phase.cpp) may revise them first.
#include "phases.hpp"
#include "run_calls.hpp"

#include <conclave/engine/combine.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/synthesis.hpp>
#include <conclave/engine/text.hpp>

#include <utility>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::detail {
namespace {

void add_note(std::string& note, std::string_view more) {
  if (more.empty()) return;
  if (!note.empty()) note += "; ";
  note += more;
}

// Which decisions are missing or partial: said in the synthesis note, and the run is degraded.
void note_missing(run_report& r, const std::vector<agent_report>& agents) {
  constexpr std::size_t listed = 10;  // then a count: a note stays one readable line
  std::string missing, partial;
  std::size_t n_missing = 0, n_partial = 0;
  for (const auto& a : agents) {
    if (a.status == agent_status::ok) continue;
    const bool has = has_answer(a.status) && !a.answer.empty();
    std::string& list = has ? partial : missing;
    std::size_t& n = has ? n_partial : n_missing;
    if (++n <= listed) {
      list += (list.empty() ? "" : ", ") + std::to_string(a.index + 1) + " (" +
              to_string(a.status) + ")";
    }
  }
  if (n_missing > listed) missing += " and " + std::to_string(n_missing - listed) + " more";
  if (n_partial > listed) partial += " and " + std::to_string(n_partial - listed) + " more";
  if (!missing.empty()) {
    r.degraded = true;
    add_note(r.synthesis_note, "no decision from sub-question " + missing);
  }
  if (!partial.empty()) {
    r.degraded = true;
    add_note(r.synthesis_note, "a partial decision from sub-question " + partial);
  }
}

// One run-level call of the combine stage, charged to the synthesis accounting. Its first
// attempt sends `messages`; a retry sends what `again` makes (empty: a kept copy of them).
asio::awaitable<std::tuple<error_code, chat_response>> combine_call(
    std::shared_ptr<run_context> ctx, std::vector<chat_message> messages, bool stream,
    messages_maker again = {}) {
  run_report& r = ctx->head;
  chat_request req;
  for (const auto& m : messages) r.synthesis_input_chars += m.size();
  req.model = ctx->opts.synthesis_model.empty() ? ctx->opts.model : ctx->opts.synthesis_model;
  req.temperature = ctx->opts.temperature;
  req.max_tokens = ctx->opts.max_output_tokens;
  req.stream = stream;
  r.synthesis_model_ref = ctx->models.synthesizer().describe_model(req.model);
  messages_maker make = first_then(std::move(messages), std::move(again));
  call_cost spent;
  delta_handler on_delta;
  if (stream) {
    // The answer as it is written: run-level progress events (no agent index).
    on_delta = [ctx](const chat_delta& d) {
      if (const auto* t = std::get_if<text_delta>(&d))
        ctx->emit({.kind = event_kind::progress, .text = std::string(t->text)});
    };
  }
  auto result =
      co_await call_before(ctx, ctx->models.synthesizer(), std::move(req), std::move(make),
                           ctx->run_deadline(), spent, std::move(on_delta));
  r.synthesis_tokens += spent.tokens;
  r.synthesis_attempts += spent.attempts;
  if (!std::get<1>(result).model.empty()) r.synthesis_model = std::get<1>(result).model;
  co_return result;
}

asio::awaitable<void> synthesize(std::shared_ptr<run_context> ctx,
                                 const std::vector<agent_report>& agents) {
  run_report& r = ctx->head;
  std::string why;
  const char* what = "synthesis failed: ";
  if (ctx->budget.exhausted()) {
    what = "no synthesis: ";
    why = ctx->budget.why();  // no new call: the decisions themselves are the answer
  } else {
    // The prompt is written from the reports (no copy of their decisions), and nothing but it
    // is held during the call (the decisions are made below for the rare fallback): with
    // thousands of agents, each copy is most of the run's memory. A retry makes the prompt
    // again from the fold (`agents`, unchanged during the merge) rather than keep a copy.
    const std::size_t max_chars = ctx->opts.max_decision_chars;
    std::vector<chat_message> prompt = synthesis_prompt(r.question, agents, max_chars);
    // Named, not a temporary of the co_await: g++ 12 destroyed such a temporary twice, and
    // with it the run's context it holds.
    messages_maker again = [ctx, max_chars] {
      return synthesis_prompt(ctx->head.question, ctx->agents(), max_chars);
    };
    auto [ec, reply] =
        co_await combine_call(ctx, std::move(prompt), ctx->opts.stream_synthesis, std::move(again));
    std::string words = reply.text();
    if (!ec && text::is_blank(words)) ec = error::empty_answer;
    if (!ec) {
      r.answer = std::move(words);
      if (const char* mark = answer_mark(reply.stop); *mark) {
        r.degraded = true;
        add_note(r.synthesis_note, std::string("the synthesized answer is ") + mark);
      }
      co_return;
    }
    if (ec == error::cancelled) {
      // Interrupted: no merge and no listing; the caller shows what finished.
      r.degraded = true;
      add_note(r.synthesis_note, "cancelled during synthesis");
      co_return;
    }
    why = ec.message() + (reply.diag.message.empty() ? "" : ": " + reply.diag.message);
  }
  // Never none: the decisions themselves, listed, are the degraded answer.
  r.degraded = true;
  add_note(r.synthesis_note, what + why);
  r.answer = fallback_answer(decisions_of(ctx->agents()), why);
}

// No call: the short answers are counted. False when no agent gave one (then synthesize).
bool vote(run_context& ctx, const std::vector<agent_report>& agents) {
  run_report& r = ctx.head;
  // A refused or cut reply has no vote to give (its last line is not an answer).
  auto decisions = decisions_of(agents);
  for (auto& d : decisions) {
    if (d.stop == stop_reason::content_filter || d.stop == stop_reason::length) d.answer.clear();
  }
  const vote_tally tally = tally_votes(decisions);
  r.combine_note = tally.note;
  if (tally.options.empty()) return false;
  r.votes.clear();
  for (const auto& o : tally.options) {
    r.votes.push_back({o.answer, o.agents});  // decisions_of keeps the agents' order
  }
  r.vote_tie = tally.tie;
  r.answer = tally.options.front().answer;
  if (tally.tie) {
    r.degraded = true;  // the tie itself is in combine_note
    add_note(r.synthesis_note, "the vote is tied; the first answer given is shown");
  }
  return true;
}

// One call picks the answer most consistent with the others (universal self-consistency).
asio::awaitable<void> select(std::shared_ptr<run_context> ctx,
                             const std::vector<agent_report>& agents) {
  run_report& r = ctx->head;
  std::vector<std::size_t> owner;
  const auto all = decisions_of(agents);
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!all[i].answer.empty()) owner.push_back(i);
  }
  const std::size_t count = owner.size();
  std::optional<std::size_t> pick;
  std::string why;
  if (count == 1) {
    pick = 0;
    why = "one answer: nothing to compare";
  } else if (ctx->budget.exhausted()) {
    why = "no selection call: " + ctx->budget.why();
  } else {
    // The answered decisions only for the prompt, made in a statement of its own: they are not
    // held through the call (a temporary in the co_await's full-expression would be). The prompt
    // is, with `all`: a selection's answers are few and short, unlike a synthesis' decisions.
    std::vector<chat_message> prompt;
    {
      std::vector<decision> answered;
      answered.reserve(count);
      for (std::size_t i : owner) answered.push_back(all[i]);
      prompt = select_prompt(r.question, answered, ctx->opts.max_decision_chars);
    }
    auto [ec, reply] = co_await combine_call(ctx, std::move(prompt), false);
    if (ec == error::cancelled) {
      // Interrupted: no pick and no answer; the caller shows what finished.
      r.degraded = true;
      add_note(r.synthesis_note, "cancelled during selection");
      co_return;
    }
    if (!ec) pick = parse_selection(reply.text(), count);
    why = ec ? "the selection call failed (" + ec.message() + ")"
             : "the selection reply named no answer";
  }
  if (pick) {
    r.selected = owner[*pick];
    r.combine_note = "selected agent " + std::to_string(*r.selected + 1) + "'s answer of " +
                     std::to_string(count);
    if (count == 1) r.combine_note += " (" + why + ")";
  } else {
    // Never none: the first answer stands, marked.
    r.selected = owner.front();
    r.degraded = true;
    r.combine_note = why + "; agent " + std::to_string(*r.selected + 1) + "'s answer is given";
    add_note(r.synthesis_note, r.combine_note);
  }
  r.answer = all[*r.selected].answer;  // `agents` is not read after the call
}

}  // namespace

asio::awaitable<void> combine(std::shared_ptr<run_context> ctx, const plan& p) {
  run_report& r = ctx->head;
  if (p.verify && p.verify_rounds > 0 && !ctx->cancelled && !ctx->fatal) {
    co_await verify(ctx, p);
  }
  // What verify noted (decisions not judged) stays, after whatever the mode says.
  const std::string verify_note = std::exchange(r.combine_note, {});
  struct keep_note {
    std::string& note;
    const std::string& verify;
    ~keep_note() { add_note(note, verify); }
  } keep{r.combine_note, verify_note};
  // Decisions as the events have them: the fold's own entries, not a copy (a copy of every
  // report was held for the whole merge call). No agent event comes any more; the modes use
  // them only before their call, or read ctx->agents() again after it.
  const std::vector<agent_report>& agents = ctx->agents();
  std::size_t answered = 0;
  for (const auto& a : agents) answered += has_answer(a.status) && !a.answer.empty();
  if (answered == 0 || ctx->cancelled || ctx->fatal) co_return;  // the caller says why
  if (agents.size() == 1 && agents[0].sub_question == r.question) {
    // One agent answered the question itself: its answer is the answer, no merge call.
    r.answer = agents[0].answer;
    if (agents[0].status != agent_status::ok) {
      r.degraded = true;
      r.synthesis_note = "the answer is partial: " + agents[0].diag.message;
    } else if (const char* mark = answer_mark(agents[0].stop); *mark) {
      r.degraded = true;
      r.synthesis_note = std::string("the answer is ") + mark;
    }
  } else {
    note_missing(r, agents);
    ctx->emit({.kind = event_kind::synthesis_started, .text = r.combine, .count = answered});
    if (p.combine == combine_mode::vote) {
      if (!vote(*ctx, agents)) {
        add_note(r.combine_note, "synthesized instead");
        co_await synthesize(ctx, agents);
      }
    } else if (p.combine == combine_mode::select) {
      co_await select(ctx, agents);
    } else {
      co_await synthesize(ctx, agents);
    }
  }
}

}  // namespace conclave::detail
