#include "model_turn.hpp"

#include <conclave/engine/call_machine.hpp>
#include <conclave/engine/error.hpp>

#include <random>

using boost::system::error_code;

namespace conclave::detail {
namespace {

agent_status status_of(const error_code& ec) {
  return ec == error::timeout     ? agent_status::timed_out
         : ec == error::cancelled ? agent_status::cancelled
                                  : agent_status::failed;
}

// A failed attempt in a few words, kept for a report whose final word is a deadline or a
// cancel: "rate limited: slow down (HTTP 429)".
std::string failure_note(const agent_report& rep) {
  std::string note = rep.error.message();
  if (!rep.diag.message.empty()) note += ": " + rep.diag.message;
  if (rep.diag.http_status != 0) note += " (HTTP " + std::to_string(rep.diag.http_status) + ")";
  return note;
}

// Appends the models a turn asked, but not the one the agent's list already ends with.
void note_models(std::vector<std::string>& tried, const std::vector<std::string>& turn) {
  for (std::size_t k = 0; k < turn.size(); ++k) {
    if (k == 0 && !tried.empty() && tried.back() == turn[0]) continue;
    tried.push_back(turn[k]);
  }
}

}  // namespace

void refuse_for_budget(run_context& ctx, agent_report& rep) {
  rep.status = agent_status::failed;
  rep.error = error::budget_exhausted;
  rep.diag = {};
  rep.diag.message = ctx.budget.why() + "; no new call starts";
}

void refuse_for_stopped_run(run_context& ctx, agent_report& rep) {
  auto [ec, diag] = ctx.run_stopper();
  rep.status = agent_status::failed;
  rep.error = ec;
  rep.diag = diag;
  rep.diag.message = "not started: the run stopped after " + ec.message();
}

model_turn::model_turn(run_context& ctx, agent_report& rep, int turn, clock::time_point deadline,
                       model_position& position, std::string& earlier_failure)
    : ctx_(ctx),
      rep_(rep),
      turn_(turn),
      position_(position),
      earlier_failure_(earlier_failure),
      call_(ctx.opts.retry, position.model, position.fallbacks, deadline, &ctx.retries),
      tried_before_(rep.models_tried),
      rng_(ctx.jitter_source(rep.index * 1000 + static_cast<std::size_t>(turn))) {
  rep_.turn_tokens.emplace_back();
}

model_turn::~model_turn() {
  position_.model = call_.model();
  position_.fallbacks = call_.remaining_fallbacks();
}

std::optional<std::string> model_turn::next_attempt() {
  const call_step step = call_.next(clock::now(), ctx_.refusal());
  rep_.models_tried = tried_before_;
  note_models(rep_.models_tried, call_.models_tried());
  if (step.what == call_step::kind::done) {
    if (step.refusal == call_refusal::budget_spent) refuse_for_budget(ctx_, rep_);
    if (step.refusal == call_refusal::run_stopped) refuse_for_stopped_run(ctx_, rep_);
    return std::nullopt;
  }
  asked_ = step.model;
  rep_.model_ref = ctx_.models.worker().describe_model(asked_);
  ++rep_.attempts;
  ctx_.emit({.kind = event_kind::started,
             .agent = rep_.index,
             .attempt = rep_.attempts,
             .turn = turn_,
             .model = rep_.model_ref});
  return asked_;
}

model_turn::outcome model_turn::on_reply(const error_code& ec, chat_response& response,
                                         bool delivered) {
  rep_.tokens += response.tokens;  // failed attempts cost tokens too
  rep_.turn_tokens.back() += response.tokens;
  ctx_.charge(response.model, asked_, ctx_.models.worker(), response.tokens);
  if (!response.model.empty()) rep_.model = response.model;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  call_step step = call_.on_reply(clock::now(), ec, response.diag, delivered, unit(rng_));
  if (ec) {
    rep_.error = ec;
    rep_.status = status_of(ec);
    rep_.diag = std::move(response.diag);
  }
  switch (step.end) {
    case call_end::succeeded:
      rep_.error = {};
      rep_.diag = {};
      return {verdict::answered};
    case call_end::cancelled:
      return {verdict::failed};  // the agent says by what
    case call_end::stops_the_run:
      // Every other call would be refused the same way: stop the run, say it once.
      ctx_.stop_run(ec, rep_.diag, rep_.model_ref);  // this attempt's, described before it
      return {verdict::failed};
    default:
      break;
  }
  if (ec != error::timeout) earlier_failure_ = failure_note(rep_);
  if (step.what == call_step::kind::done) {
    step.explain(rep_.diag);
    return {verdict::failed};
  }
  // The failed attempt's spend and model ride along: a journal resuming the run charges them.
  ctx_.emit({.kind = event_kind::retrying,
             .agent = rep_.index,
             .text = step.note,
             .tokens = response.tokens,
             .attempt = rep_.attempts + 1,
             .turn = turn_,
             .model = rep_.model_ref});
  return {verdict::retry, step.delay};
}

}  // namespace conclave::detail
