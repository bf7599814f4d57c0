#include <conclave/engine/error.hpp>
#include <conclave/engine/rate_limit.hpp>
#include <conclave/redis/shared_limit_model.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace conclave::redis {
namespace asio = boost::asio;
using boost::system::error_code;
namespace {

// What asking the shared limits came to: a grant, or why there is none.
struct admission {
  grant g;
  error_code ec;  // a conclave or redis error when there is no grant
  std::string why;
  std::chrono::milliseconds wait{0};
  bool redis_failed = false;  // Redis could not be asked (not a refusal by the limits)
};

// Redis unreachable or slow: retryable as a connection failure is (still failing closed);
// a refused AUTH or a script error is not.
bool transient(const error_code& ec) {
  return ec == error::connect_failed || ec == error::connect_timeout || ec == error::disconnected ||
         ec == error::timeout || ec == error::too_many_pending;
}

asio::awaitable<admission> admit(shared_limiter& limiter, std::string key, shared_limit limit,
                                 std::int64_t tokens,
                                 std::optional<std::chrono::steady_clock::time_point> deadline,
                                 std::atomic<std::uint64_t>& waits) {
  co_await asio::this_coro::throw_if_cancelled(false);  // a cancel is an answer, not a throw
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    auto [ec, g] =
        co_await limiter.async_reserve(key, limit, tokens, asio::as_tuple(asio::use_awaitable));
    const bool cancelled =
        (co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none;
    if (ec == asio::error::operation_aborted || cancelled) {
      if (!ec && g.granted) limiter.async_release(key, g, [](error_code) {});  // never started
      co_return admission{{},
                          make_error_code(conclave::error::cancelled),
                          "cancelled while asking the shared rate limit",
                          {}};
    }
    if (ec)
      co_return admission{
          {},
          transient(ec) ? make_error_code(conclave::error::connection_failed) : ec,
          "the shared rate limits' Redis: " +
              (g.failure.empty() ? describe(limiter.redis().options().where) : g.failure),
          {},
          true};
    if (g.granted) co_return admission{std::move(g), {}, {}, {}};
    if (deadline && std::chrono::steady_clock::now() + g.wait > *deadline)
      co_return admission{{},
                          make_error_code(conclave::error::rate_limited),
                          "the limits shared on Redis (" + key + ") ask to wait " +
                              std::to_string(g.wait.count()) + " ms, past this call's deadline",
                          g.wait};
    ++waits;
    timer.expires_after(g.wait);
    auto [wait_ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (wait_ec)
      co_return admission{{},
                          make_error_code(conclave::error::cancelled),
                          "cancelled while waiting for the shared rate limit",
                          {}};
  }
}

}  // namespace

shared_limit_model::shared_limit_model(model& inner, shared_limiter& limiter, shared_limit limit,
                                       key_function key, std::int64_t default_completion_tokens)
    : inner_(inner),
      limiter_(limiter),
      limit_(limit),
      key_(std::move(key)),
      default_completion_tokens_(default_completion_tokens) {}

std::string shared_limit_model::key_for(std::string_view model_name) const {
  if (key_) return key_(model_name);
  return "default:" + (model_name.empty() ? inner_.describe() : inner_.describe_model(model_name));
}

shared_limit_stats shared_limit_model::stats() const noexcept {
  return {admitted_, waits_, refused_, redis_errors_, rate_limited_};
}

void shared_limit_model::do_complete(asio::any_io_executor ex, chat_request req,
                                     delta_handler on_delta, completion_handler&& handler) {
  std::string key = key_for(req.model);
  const std::int64_t tokens = estimate_request_tokens(req, default_completion_tokens_);
  const auto deadline = req.deadline;
  auto slot = asio::get_associated_cancellation_slot(handler);
  struct waiting {
    chat_request req;
    delta_handler on_delta;
    completion_handler handler;
  };
  asio::co_spawn(
      ex, admit(limiter_, key, limit_, tokens, deadline, waits_),
      asio::bind_cancellation_slot(
          slot,
          [this, ex, key, w = waiting{std::move(req), std::move(on_delta), std::move(handler)}](
              std::exception_ptr bug, admission a) mutable {
            if (bug || !a.g.granted) {
              chat_response none;
              error_code ec = bug ? make_error_code(conclave::error::internal_error) : a.ec;
              none.diag.message = bug ? "internal error in shared_limit_model" : a.why;
              none.diag.refused_before_sending = true;
              if (a.wait.count() > 0) none.diag.retry_after = a.wait;
              if (ec == conclave::error::rate_limited) ++refused_;
              if (a.redis_failed) ++redis_errors_;
              return std::move(w.handler)(ec, std::move(none));
            }
            call_inner(ex, std::move(key), std::move(a.g), std::move(w.req), std::move(w.on_delta),
                       std::move(w.handler));
          }));
}

void shared_limit_model::call_inner(asio::any_io_executor ex, std::string key, grant g,
                                    chat_request req, delta_handler on_delta,
                                    completion_handler handler) {
  ++admitted_;
  auto slot = asio::get_associated_cancellation_slot(handler);
  inner_.async_complete(
      std::move(req), std::move(on_delta),
      asio::bind_cancellation_slot(
          slot,
          asio::bind_executor(ex, [this, ex, key = std::move(key), g = std::move(g),
                                   h = std::move(handler)](error_code ec, chat_response r) mutable {
            // Written back without waiting: the caller has its reply a Redis round trip
            // sooner, and a settle that fails leaves the estimate counted (the safe side).
            // Tokens: as reported; none spent on a 429; the estimate when a failed call
            // says nothing (the provider may have counted them).
            std::int64_t used = r.tokens.total();
            if (used == 0 && ec && r.diag.http_status != 429) used = g.tokens;
            limiter_.async_settle(key, g, used, r.limits, [](error_code) {});
            if (ec == conclave::error::rate_limited && !r.diag.refused_before_sending) {
              // Awaited: once a caller hears of a 429, no instance starts another call under
              // this key until the cooldown ends.
              ++rate_limited_;
              const auto retry_after = r.diag.retry_after;
              return limiter_.async_cool_down(
                  key, retry_after,
                  asio::bind_executor(ex,
                                      [ec, r = std::move(r), h = std::move(h)](error_code) mutable {
                                        std::move(h)(ec, std::move(r));
                                      }));
            }
            std::move(h)(ec, std::move(r));
          })));
}

}  // namespace conclave::redis
