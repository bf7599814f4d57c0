#include "spawn_call.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/limited_model.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <optional>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using outcome = std::tuple<error_code, chat_response>;

call_outcome outcome_of(const error_code& ec) {
  if (!ec) return call_outcome::ok;
  if (ec == error::rate_limited) return call_outcome::rate_limited;
  if (ec == error::cancelled) return call_outcome::cancelled;
  return call_outcome::other_failure;
}

}  // namespace

// The limits of one model name. `state` and the permit queue are guarded by `mutex` (held
// for a few instructions, never across a suspension). Permits are counted here rather than
// passed through an Asio channel: a channel receive cancelled as a value arrives can lose
// the value (chriskohlhoff/asio#1041), and a lost permit stalls every later call (seen on
// four threads under ASan). A waiter sleeps on its own timer; a grant marks it and cancels
// that timer on the waiter's executor.
namespace detail {
struct permit_waiter {
  explicit permit_waiter(asio::any_io_executor ex) : wake(std::move(ex)) {}
  asio::steady_timer wake;
  bool granted = false;  // under the endpoint's mutex
};

struct limited_endpoint {
  explicit limited_endpoint(const rate_limit_options& o)
      : state(o), capped(state.initial_permits() > 0), free_permits(state.initial_permits()) {}

  // Takes a permit now, or queues `w` for one. Returns true when taken.
  bool take_or_queue(const std::shared_ptr<permit_waiter>& w) {
    std::lock_guard lock(mutex);
    if (queue.empty() && free_permits > 0) {
      --free_permits;
      return true;
    }
    queue.push_back(w);
    return false;
  }

  // A queued waiter woke: whether it was granted a permit (else it leaves the queue).
  bool granted_or_leave(const std::shared_ptr<permit_waiter>& w) {
    std::lock_guard lock(mutex);
    if (w->granted) return true;
    queue.erase(std::remove(queue.begin(), queue.end(), w), queue.end());
    return false;
  }

  // After a call: its permit goes back unless the cap shrank, plus any the cap grew by; each
  // goes to the first waiter, else to the free count.
  void give_back_permit() {
    if (!capped) return;
    std::lock_guard lock(mutex);
    int hand_out = (state.on_permit_returned() ? 1 : 0) + state.permits_to_mint();
    for (; hand_out > 0; --hand_out) {
      if (queue.empty()) {
        ++free_permits;
        continue;
      }
      auto w = std::move(queue.front());
      queue.pop_front();
      w->granted = true;
      asio::post(w->wake.get_executor(), [w] { w->wake.cancel(); });
    }
  }

  std::mutex mutex;
  rate_limiter state;
  const bool capped;
  int free_permits;
  std::deque<std::shared_ptr<permit_waiter>> queue;
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
  return e;
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
  auto e = endpoint_for(req.model);
  auto call = [](model& inner, std::shared_ptr<endpoint> ep, chat_request r,
                 delta_handler d) -> asio::awaitable<outcome> {
    co_await asio::this_coro::throw_if_cancelled(false);  // clean up after a cancel
    std::int64_t estimate = 0;
    {
      std::lock_guard lock(ep->mutex);
      estimate = ep->state.estimate_tokens(r);
    }
    ++ep->waiting;
    const admission admitted = co_await admit(ep, estimate, r.deadline);
    --ep->waiting;
    const auto& ticket = admitted.ticket;
    if (admitted.past_deadline) {
      chat_response none;
      if (admitted.wait.count() <= 0) {
        // Nothing to wait for: the caller's time was already up.
        none.diag.message = "the call's deadline passed before it could start";
        co_return outcome{error::timeout, std::move(none)};
      }
      none.diag.retry_after = admitted.wait;
      none.diag.message = "the rate limit asks to wait " + std::to_string(admitted.wait.count()) +
                          " ms, past this call's deadline";
      co_return outcome{error::rate_limited, std::move(none)};
    }
    if (!ticket) {
      chat_response none;
      none.diag.message = "cancelled while waiting for the rate limit";
      co_return outcome{error::cancelled, std::move(none)};
    }
    ++ep->calls;
    const auto now_in = ++ep->in_flight;
    for (auto peak = ep->peak.load();
         now_in > peak && !ep->peak.compare_exchange_weak(peak, now_in);) {
    }
    auto [ec, reply] = co_await inner.async_complete(std::move(r), std::move(d), use_tuple);
    --ep->in_flight;
    const call_outcome how = outcome_of(ec);
    if (how == call_outcome::rate_limited) ++ep->rate_limited;
    {
      std::lock_guard lock(ep->mutex);
      ep->state.on_outcome(rate_limiter::clock::now(), *ticket, how, reply.tokens,
                           reply.diag.retry_after, reply.limits);
    }
    ep->give_back_permit();
    co_return outcome{ec, std::move(reply)};
  };
  detail::spawn_call(std::move(ex), call(inner_, std::move(e), std::move(req), std::move(on_delta)),
                     std::move(handler), "limited_model");
}

namespace {

asio::awaitable<admission> admit(std::shared_ptr<detail::limited_endpoint> e, std::int64_t estimate,
                                 std::optional<rate_limiter::clock::time_point> deadline) {
  const auto ex = co_await asio::this_coro::executor;
  if (e->capped) {
    auto w = std::make_shared<detail::permit_waiter>(ex);
    if (!e->take_or_queue(w)) {
      w->wake.expires_at(asio::steady_timer::time_point::max());
      co_await w->wake.async_wait(use_tuple);  // ends by a grant or by our cancellation
      const bool got = e->granted_or_leave(w);
      const bool cancelled = (co_await asio::this_coro::cancellation_state).cancelled() !=
                             asio::cancellation_type::none;
      if (cancelled) {
        if (got) e->give_back_permit();  // granted as we were cancelled: pass it on
        co_return admission{};
      }
      if (!got) co_return admission{};  // woken without a grant: only a cancel does that
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
