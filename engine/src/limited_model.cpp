#include "spawn_call.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/limited_model.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <optional>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using permit_channel = asio::experimental::concurrent_channel<void(error_code)>;
using outcome = std::tuple<error_code, chat_response>;

call_outcome outcome_of(const error_code& ec) {
  if (!ec) return call_outcome::ok;
  if (ec == error::rate_limited) return call_outcome::rate_limited;
  if (ec == error::cancelled) return call_outcome::cancelled;
  return call_outcome::other_failure;
}

}  // namespace

// The limits of one model name. `state` is plain logic under `mutex` (held for a few
// instructions, never across a suspension); permits travel through a thread-safe channel,
// whose FIFO queue of receivers is the queue of waiting calls.
namespace detail {
struct limited_endpoint {
  limited_endpoint(asio::any_io_executor ex, const rate_limit_options& o) : state(o) {
    if (state.initial_permits() > 0) {
      permits.emplace(ex, static_cast<std::size_t>(state.initial_permits()));
      for (int i = 0; i < state.initial_permits(); ++i) permits->try_send(error_code{});
    }
  }

  // After a call: whether its permit goes back, and how many new ones the cap allows.
  void give_back_permit() {
    if (!permits) return;
    bool keep = false;
    int mint = 0;
    {
      std::lock_guard lock(mutex);
      keep = state.on_permit_returned();
      mint = state.permits_to_mint();
    }
    // Outside the lock: a send may hand the permit straight to a waiting call.
    for (int i = 0; i < (keep ? 1 : 0) + mint; ++i) permits->try_send(error_code{});
  }

  std::mutex mutex;
  rate_limiter state;
  std::optional<permit_channel> permits;
  std::atomic<std::uint64_t> calls{0}, waiting{0}, in_flight{0}, peak{0}, rate_limited{0};
};
}  // namespace detail

limited_model::limited_model(model& inner, rate_limit_options opts)
    : inner_(inner), opts_(std::move(opts)) {}

limited_model::~limited_model() = default;

std::shared_ptr<limited_model::endpoint> limited_model::endpoint_for(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto& e = endpoints_[name];
  if (!e) e = std::make_shared<endpoint>(inner_.get_executor(), opts_);
  return e;
}

limited_model::stats limited_model::stats_for(const std::string& model_name) const {
  std::shared_ptr<endpoint> e;
  {
    std::lock_guard lock(mutex_);
    auto it = endpoints_.find(model_name);
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

// Waits for a permit, then for the ticket's start time; takes a new ticket when a cooldown
// began meanwhile (a start later than the reservation would break the window's promise).
// Returns the ticket, or nothing when cancelled (reservations and permit given back).
asio::awaitable<std::optional<rate_limiter::ticket>> admit(
    std::shared_ptr<detail::limited_endpoint> e, std::int64_t estimate);

}  // namespace

void limited_model::do_complete(asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                                completion_handler handler) {
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
    auto ticket = co_await admit(ep, estimate);
    --ep->waiting;
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

asio::awaitable<std::optional<rate_limiter::ticket>> admit(
    std::shared_ptr<detail::limited_endpoint> e, std::int64_t estimate) {
  if (e->permits) {
    auto [ec] = co_await e->permits->async_receive(use_tuple);
    if (ec) co_return std::nullopt;  // cancelled in the queue: it held no permit
  }
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    rate_limiter::ticket t;
    {
      std::lock_guard lock(e->mutex);
      t = e->state.schedule(rate_limiter::clock::now(), estimate);
    }
    error_code ec;
    if (t.at > rate_limiter::clock::now()) {
      timer.expires_at(t.at);
      std::tie(ec) = co_await timer.async_wait(use_tuple);
    }
    bool cooled = false;
    {
      std::lock_guard lock(e->mutex);
      cooled = !ec && e->state.cooldown_until() <= rate_limiter::clock::now();
      if (!cooled) e->state.on_abandoned(t);
    }
    if (cooled) co_return t;
    if (ec) {
      e->give_back_permit();
      co_return std::nullopt;
    }
    // A cooldown began while we waited: queue again behind it.
  }
}

}  // namespace
}  // namespace conclave
