#include "model_turn.hpp"

#include <conclave/engine/call_machine.hpp>
#include <conclave/engine/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <random>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::detail {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::deferred);  // no frame per wait (client.cpp)

agent_status status_of(const error_code& ec) {
  return ec == error::timeout     ? agent_status::timed_out
         : ec == error::cancelled ? agent_status::cancelled
                                  : agent_status::failed;
}

// A failed attempt in a few words, kept for a report whose final word is a deadline or a
// cancel: "rate limited by the provider: slow down (HTTP 429)".
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

asio::awaitable<bool> model_turn(std::shared_ptr<run_context> ctx, agent_report& rep,
                                 const chat_request& base, bool tools_allowed,
                                 const std::vector<chat_message>& conversation, int turn,
                                 clock::time_point deadline, model_position& position,
                                 std::string& earlier_failure, chat_response& reply) {
  const std::size_t i = rep.index;
  call_machine call(ctx->opts.retry, position.model, position.fallbacks, deadline, &ctx->retries);
  const auto tried_before = rep.models_tried;
  struct keep_position {  // on every way out
    call_machine& call;
    model_position& position;
    ~keep_position() {
      position.model = call.model();
      position.fallbacks = call.remaining_fallbacks();
    }
  } keep{call, position};
  model& worker = ctx->models.worker();
  auto rng = ctx->jitter_source(i * 1000 + static_cast<std::size_t>(turn));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  asio::steady_timer backoff(co_await asio::this_coro::executor);
  rep.turn_tokens.emplace_back();
  for (;;) {
    call_step step = call.next(clock::now(), ctx->refusal());
    rep.models_tried = tried_before;
    note_models(rep.models_tried, call.models_tried());
    if (step.what == call_step::kind::done) {
      if (step.refusal == call_refusal::budget_spent) refuse_for_budget(*ctx, rep);
      if (step.refusal == call_refusal::run_stopped) refuse_for_stopped_run(*ctx, rep);
      co_return false;
    }
    const std::string asked = step.model;
    rep.model_ref = worker.describe_model(asked);
    ++rep.attempts;
    ctx->emit({.kind = event_kind::started,
               .agent = i,
               .attempt = rep.attempts,
               .turn = turn,
               .model = rep.model_ref});
    bool delivered = false;  // a stream that reached the consumer is never retried
    auto on_delta = [ctx, i, &delivered](const chat_delta& delta) {
      // Only text reaches anyone: reasoning and tool-call fragments never stop a retry.
      if (const auto* t = std::get_if<text_delta>(&delta); t && !t->text.empty()) {
        delivered = true;
        ctx->emit({.kind = event_kind::progress, .agent = i, .text = std::string(t->text)});
      }
    };
    // This attempt's request, consumed by the model (encoded, then freed) rather than kept
    // here for the length of the call.
    chat_request attempt = base;
    attempt.model = asked;
    attempt.messages = conversation;
    if (!tools_allowed) attempt.choice.how = tool_choice::mode::none;  // answer now
    auto [ec, response] = co_await worker.async_complete(std::move(attempt), on_delta, use_tuple);
    rep.tokens += response.tokens;  // failed attempts cost tokens too
    rep.turn_tokens.back() += response.tokens;
    ctx->charge(response.model, asked, worker, response.tokens);
    if (!response.model.empty()) rep.model = response.model;
    step = call.on_reply(clock::now(), ec, response.diag, delivered, unit(rng));
    if (ec) {
      rep.error = ec;
      rep.status = status_of(ec);
      rep.diag = std::move(response.diag);
    }
    switch (step.end) {
      case call_end::succeeded:
        rep.error = {};
        rep.diag = {};
        reply = std::move(response);
        co_return true;
      case call_end::cancelled:
        co_return false;  // start_agent says by what
      case call_end::stops_the_run:
        // Every other call would be refused the same way: stop the run, say it once.
        ctx->stop_run(ec, rep.diag, rep.model_ref);  // this attempt's, described above
        co_return false;
      default:
        break;
    }
    if (ec != error::timeout) earlier_failure = failure_note(rep);
    if (step.what == call_step::kind::done) {
      step.explain(rep.diag);
      co_return false;
    }
    // The failed attempt's spend and model ride along: a journal resuming the run charges them.
    ctx->emit({.kind = event_kind::retrying,
               .agent = i,
               .text = step.note,
               .tokens = response.tokens,
               .attempt = rep.attempts + 1,
               .turn = turn,
               .model = rep.model_ref});
    if (step.delay.count() > 0) {
      backoff.expires_after(step.delay);
      if (auto [wec] = co_await backoff.async_wait(use_tuple); wec) co_return false;
    }
  }
}

}  // namespace conclave::detail
