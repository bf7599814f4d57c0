#include "forward_call.hpp"

#include <conclave/engine/async_semaphore.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/engine/limited_model.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <optional>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::deferred);  // no frame per wait (client.cpp)

call_outcome outcome_of(const error_code& ec) {
  if (!ec) return call_outcome::ok;
  if (ec == error::rate_limited) return call_outcome::rate_limited;
  if (ec == error::cancelled) return call_outcome::cancelled;
  return call_outcome::other_failure;
}

}  // namespace

// The limits of one model name. `state` and `last_used` are guarded by `mutex` (held for a
// few instructions, never across a suspension, never while calling the semaphore). Permits
// are an async_semaphore: a grant and a cancel meet under its mutex, so a permit is never
// lost (an Asio channel used as a semaphore can lose one, chriskohlhoff/asio#1041).
namespace detail {
struct limited_endpoint {
  using clock = rate_limiter::clock;

  explicit limited_endpoint(const rate_limit_options& o)
      : state(o),
        capped(state.initial_permits() > 0),
        permits(static_cast<std::size_t>(state.initial_permits())) {}

  // After a call that held a permit: it goes back unless the cap shrank below the permits in
  // circulation (then it is retired: it simply does not come back, the semaphore's "next
  // one released"); new ones are minted when the cap grew.
  void give_back_permit() {
    if (!capped) return;
    bool back = false;
    int minted = 0;
    {
      std::lock_guard lock(mutex);
      back = state.on_permit_returned();
      minted = state.permits_to_mint();
    }
    if (back) permits.release();
    if (minted > 0) permits.add_permits(static_cast<std::size_t>(minted));
  }

  void touch() {
    std::lock_guard lock(mutex);
    last_used = clock::now();
  }

  // Nothing would be lost by forgetting it: no call in it, no cooldown, no reservation left
  // in a window, and no call since `unused_since`. The caller holds the only reference.
  bool idle(clock::time_point unused_since, clock::time_point now) {
    if (waiting != 0 || in_flight != 0) return false;
    std::lock_guard lock(mutex);
    const auto& o = state.options();
    const bool windows = o.requests_per_window > 0 || o.tokens_per_window > 0;
    return last_used < unused_since && state.cooldown_until() <= now &&
           (!windows || last_used + o.window + o.margin <= now);
  }

  std::mutex mutex;
  rate_limiter state;
  clock::time_point last_used = clock::now();
  const bool capped;
  async_semaphore permits;
  std::atomic<std::uint64_t> calls{0}, waiting{0}, in_flight{0}, peak{0}, rate_limited{0};
};
}  // namespace detail

limited_model::limited_model(model& inner, rate_limit_options opts, limit_key key)
    : inner_(inner), opts_(std::move(opts)), key_(std::move(key)) {}

limited_model::~limited_model() = default;

std::shared_ptr<limited_model::endpoint> limited_model::endpoint_for(const std::string& name) {
  std::string key = key_ ? key_(name) : name;
  std::lock_guard lock(mutex_);
  auto& e = endpoints_[key];
  if (!e) e = std::make_shared<endpoint>(opts_);
  // The reference returned here, taken under the map's mutex, keeps expire_idle off this
  // endpoint until the call ends.
  e->touch();
  return e;
}

std::size_t limited_model::expire_idle(std::chrono::steady_clock::time_point unused_since) {
  const auto now = endpoint::clock::now();
  std::size_t dropped = 0;
  std::lock_guard lock(mutex_);
  for (auto it = endpoints_.begin(); it != endpoints_.end();) {
    // Every call holds a reference from endpoint_for() (taken under this mutex) to its end.
    if (it->second.use_count() == 1 && it->second->idle(unused_since, now)) {
      it = endpoints_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

std::size_t limited_model::endpoint_count() const {
  std::lock_guard lock(mutex_);
  return endpoints_.size();
}

limited_model::stats limited_model::stats_for(const std::string& model_name) const {
  std::shared_ptr<endpoint> e;
  {
    std::lock_guard lock(mutex_);
    auto it = endpoints_.find(key_ ? key_(model_name) : model_name);
    if (it == endpoints_.end()) return {};
    e = it->second;
  }
  stats s;
  {
    std::lock_guard lock(e->mutex);
    s.concurrency_cap = e->state.concurrency_cap();
  }
  s.calls = e->calls;
  s.waiting = e->waiting;
  s.in_flight = e->in_flight;
  s.peak_in_flight = e->peak;
  s.rate_limited = e->rate_limited;
  return s;
}

namespace {

// What waiting for the limits came to: a ticket to call with, or why not.
struct admission {
  std::optional<rate_limiter::ticket> ticket;
  bool past_deadline = false;         // the wait would end after the caller's deadline
  std::chrono::milliseconds wait{0};  // how long it would have been
};

// Waits for a permit, then for the ticket's start time; takes a new ticket when a cooldown
// began meanwhile (a start later than the reservation would break the window's promise).
// When the start would fall after `deadline`, gives up at once rather than sit until the
// caller's timer cuts it, so the caller hears "rate limited" and not "deadline expired".
// Without a ticket (cancelled, or past the deadline) reservations and permit are given back.
asio::awaitable<admission> admit(std::shared_ptr<detail::limited_endpoint> e, std::int64_t estimate,
                                 std::optional<rate_limiter::clock::time_point> deadline);

}  // namespace

void limited_model::do_complete(asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                                completion_handler&& handler) {
  auto ep = endpoint_for(req.model);
  std::int64_t estimate = 0;
  {
    std::lock_guard lock(ep->mutex);
    estimate = ep->state.estimate_tokens(req);
  }
  ++ep->waiting;
  const auto deadline = req.deadline;
  // Only the wait is a coroutine (its frame is gone when the call goes out); the call itself
  // is forwarded with a plain completion. The call's request and handler wait beside it.
  struct pending {
    chat_request req;
    delta_handler on_delta;
    completion_handler handler;
  };
  auto slot = asio::get_associated_cancellation_slot(handler);
  asio::co_spawn(
      ex, admit(ep, estimate, deadline),
      asio::bind_cancellation_slot(
          slot,
          [this, ex, ep, p = pending{std::move(req), std::move(on_delta), std::move(handler)}](
              std::exception_ptr bug, admission admitted) mutable {
            --ep->waiting;
            auto refuse = [&](error_code ec, std::string why,
                              std::chrono::milliseconds retry_after = {}) {
              chat_response none;
              none.diag.message = std::move(why);
              none.diag.refused_before_sending = true;
              if (retry_after.count() > 0) none.diag.retry_after = retry_after;
              std::move(p.handler)(ec, std::move(none));
            };
            if (bug) return refuse(error::internal_error, "internal error in limited_model");
            if (admitted.past_deadline) {
              // Nothing to wait for (wait 0): the caller's time was already up.
              if (admitted.wait.count() <= 0)
                return refuse(error::timeout, "the call's deadline passed before it could start");
              return refuse(error::rate_limited,
                            "the rate limit asks to wait " + std::to_string(admitted.wait.count()) +
                                " ms, past this call's deadline",
                            admitted.wait);
            }
            if (!admitted.ticket) {
              return refuse(error::cancelled, "cancelled while waiting for the rate limit");
            }
            ++ep->calls;
            const auto now_in = ++ep->in_flight;
            for (auto peak = ep->peak.load();
                 now_in > peak && !ep->peak.compare_exchange_weak(peak, now_in);) {
            }
            detail::forward_call(
                inner_, ex, std::move(p.req), std::move(p.on_delta), std::move(p.handler),
                [ep, ticket = *admitted.ticket](const error_code& ec, const chat_response& reply) {
                  --ep->in_flight;
                  const call_outcome how = outcome_of(ec);
                  // A limiter nearer the provider (limits shared on Redis) refused it: not the
                  // provider's 429, so no cooldown, no smaller cap, and the call never started.
                  const bool refused_in_front = reply.diag.refused_before_sending;
                  if (how == call_outcome::rate_limited && !refused_in_front) ++ep->rate_limited;
                  {
                    std::lock_guard lock(ep->mutex);
                    if (refused_in_front)
                      ep->state.on_abandoned(ticket);
                    else
                      ep->state.on_outcome(rate_limiter::clock::now(), ticket, how, reply.tokens,
                                           reply.diag.retry_after, reply.limits);
                  }
                  ep->give_back_permit();
                  ep->touch();
                });
          }));
}

namespace {

asio::awaitable<admission> admit(std::shared_ptr<detail::limited_endpoint> e, std::int64_t estimate,
                                 std::optional<rate_limiter::clock::time_point> deadline) {
  co_await asio::this_coro::throw_if_cancelled(false);  // a cancel is an answer, not a throw
  const auto ex = co_await asio::this_coro::executor;
  if (e->capped && !e->permits.try_acquire()) {
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return admission{};
    // Ends with a permit, or with operation_aborted (no permit) when we are cancelled first.
    auto [ec] = co_await e->permits.async_acquire(use_tuple);
    if (ec) co_return admission{};
    if (cs.cancelled() != asio::cancellation_type::none) {
      e->give_back_permit();  // granted as we were cancelled: pass it on
      co_return admission{};
    }
  }
  asio::steady_timer timer(ex);
  for (;;) {
    rate_limiter::ticket t;
    {
      std::lock_guard lock(e->mutex);
      t = e->state.schedule(rate_limiter::clock::now(), estimate);
    }
    error_code ec;
    const auto now = rate_limiter::clock::now();
    if (deadline && t.at > *deadline) {
      {
        std::lock_guard lock(e->mutex);
        e->state.on_abandoned(t);
      }
      e->give_back_permit();
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(t.at - now);
      // No wait but the deadline already gone is a timeout (wait 0), not a rate limit.
      co_return admission{std::nullopt, true,
                          now >= *deadline ? std::chrono::milliseconds(0)
                                           : std::max(wait, std::chrono::milliseconds(1))};
    }
    if (t.at > now) {
      timer.expires_at(t.at);
      std::tie(ec) = co_await timer.async_wait(use_tuple);
    }
    bool cooled = false;
    {
      std::lock_guard lock(e->mutex);
      cooled = !ec && e->state.cooldown_until() <= rate_limiter::clock::now();
      if (!cooled) e->state.on_abandoned(t);
    }
    if (cooled) co_return admission{t};
    if (ec) {
      e->give_back_permit();
      co_return admission{};
    }
    // A cooldown began while we waited: queue again behind it.
  }
}

}  // namespace
}  // namespace conclave
