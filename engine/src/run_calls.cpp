#include "run_calls.hpp"

#include <conclave/engine/call_machine.hpp>
#include <conclave/engine/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>
#include <utility>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::detail {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::deferred);  // no frame per wait (client.cpp)

// One model call, retried per the policy (and the run's shared retry budget) until it
// succeeds, gives up, `deadline` passes, the run's token/cost budget is spent, or a failure
// stopped the run. `on_delta` (may be empty) sees streamed text; once some arrived, the call
// is not tried again.
asio::awaitable<std::tuple<error_code, chat_response>> call_with_retries(
    std::shared_ptr<run_context> ctx, model& m, chat_request req, messages_maker make,
    clock::time_point deadline, call_cost& spent, delta_handler on_delta) {
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
    chat_request sent = req;  // the settings (no messages): copied per attempt
    sent.messages = make();
    auto [ec, reply] = co_await m.async_complete(std::move(sent), watch, use_tuple);
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

}  // namespace

messages_maker first_then(std::vector<chat_message> first, messages_maker again) {
  if (!again) return [kept = std::move(first)] { return kept; };
  return [first = std::optional(std::move(first)), again = std::move(again)]() mutable {
    if (!first) return again();
    auto out = std::move(*first);
    first.reset();
    return out;
  };
}

asio::awaitable<std::tuple<error_code, chat_response>> call_before(std::shared_ptr<run_context> ctx,
                                                                   model& m, chat_request req,
                                                                   clock::time_point deadline,
                                                                   call_cost& spent,
                                                                   delta_handler on_delta) {
  messages_maker kept = first_then(std::exchange(req.messages, {}));
  return call_before(std::move(ctx), m, std::move(req), std::move(kept), deadline, spent,
                     std::move(on_delta));
}

asio::awaitable<std::tuple<error_code, chat_response>> call_before(
    std::shared_ptr<run_context> ctx, model& m, chat_request settings, messages_maker make,
    clock::time_point deadline, call_cost& spent, delta_handler on_delta) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  auto winner = co_await (call_with_retries(ctx, m, std::move(settings), std::move(make), deadline,
                                            spent, std::move(on_delta)) ||
                          timer.async_wait(asio::as_tuple(asio::use_awaitable)));
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

}  // namespace conclave::detail
