#include "pool.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include <algorithm>
#include <optional>

namespace asio = boost::asio;

namespace conclave::http::detail {

pool::pool(asio::any_io_executor ex, std::size_t max_per_origin,
           std::chrono::milliseconds idle_timeout)
    : strand_(asio::make_strand(std::move(ex))),
      max_per_origin_(std::max<std::size_t>(1, max_per_origin)),
      idle_timeout_(idle_timeout) {}

// The last owner is gone, so no operation is running. An idle connection closed with a FIN
// leaves this side in TIME_WAIT for a minute; thousands of them (one process's fan-out, then
// the next) make every later connect() search for a free port, which doubled the kernel
// time of 10,000 calls. Nothing is in flight on an idle connection, so a reset loses nothing.
pool::~pool() {
  for (auto& [key, st] : origins_) {
    for (auto& c : st.idle) {
      boost::system::error_code ignored;
      c->visit([&](auto& s) {
        auto& socket = boost::beast::get_lowest_layer(s);
        socket.set_option(boost::asio::socket_base::linger(true, 0), ignored);
        socket.close(ignored);  // here: a socket's destructor turns the linger off again
      });
    }
  }
}

void pool::initiate_acquire(const origin& where, lease_handler handler) {
  const std::uint64_t ticket = next_ticket_++;
  origin key = where;  // a short host stays in the string's own buffer: no allocation
  // Taken before the handler moves away; it refers to the caller's signal, which outlives
  // this operation. Assigned here, on the caller's side where the signal is emitted, after
  // the dispatch, so the strand sees the acquire before any cancel.
  auto slot = asio::get_associated_cancellation_slot(handler);
  asio::dispatch(strand_,
                 [self = shared_from_this(), key, ticket, h = std::move(handler)]() mutable {
                   self->acquire_on_strand(key, ticket, std::move(h));
                 });
  if (slot.is_connected()) {
    slot.assign([weak = weak_from_this(), key = std::move(key), ticket](asio::cancellation_type t) {
      if (t == asio::cancellation_type::none) return;
      if (auto self = weak.lock()) {
        asio::dispatch(self->strand_, [self, key, ticket] {
          self->drop_waiter(key, ticket, asio::error::operation_aborted);
        });
      }
    });
  }
}

void pool::acquire_on_strand(const origin& key, std::uint64_t ticket, lease_handler handler) {
  origin_state& st = origins_[key];
  evict_idle(st);
  if (!st.idle.empty()) {
    auto c = std::move(st.idle.back());  // warmest first: most likely still open
    st.idle.pop_back();
    complete(std::move(handler), boost::system::error_code{}, std::move(c));
    return;
  }
  if (st.open < max_per_origin_) {
    ++st.open;
    complete(std::move(handler), boost::system::error_code{}, std::unique_ptr<connection>{});
    return;
  }
  st.waiters.push(waiter{ticket, std::move(handler)});
}

void pool::release(const origin& where, std::unique_ptr<connection> c) {
  asio::dispatch(strand_, [self = shared_from_this(), key = where, c = std::move(c)]() mutable {
    origin_state& st = self->origins_[key];
    if (c) c->idle_since = clock::now();
    if (auto w = st.waiters.pop()) {
      // Hand the slot over: a live connection, or (nullptr) the right to open a new one.
      self->complete(std::move(w->handler), boost::system::error_code{}, std::move(c));
      return;
    }
    if (c) {
      st.idle.push_back(std::move(c));
    } else {
      --st.open;
    }
  });
}

void pool::drop_waiter(const origin& key, std::uint64_t ticket, boost::system::error_code why) {
  auto it = origins_.find(key);
  if (it == origins_.end()) return;
  auto& waiters = it->second.waiters;
  std::optional<waiter_list<waiter>::id_type> id;
  waiters.for_each([&](auto at, int, const waiter& w) {
    if (w.ticket == ticket) id = at;
  });
  if (!id) return;  // already served
  auto w = waiters.remove(*id);
  complete(std::move(w->handler), why, std::unique_ptr<connection>{});
}

std::size_t pool::evict_idle(origin_state& st) {
  const auto oldest_allowed = clock::now() - idle_timeout_;
  std::size_t closed = 0;
  while (!st.idle.empty() && st.idle.front()->idle_since < oldest_allowed) {
    st.idle.pop_front();
    --st.open;
    ++closed;
  }
  return closed;
}

void pool::initiate_evict(evict_handler handler) {
  asio::dispatch(strand_, [self = shared_from_this(), h = std::move(handler)]() mutable {
    idle_eviction done;
    for (auto it = self->origins_.begin(); it != self->origins_.end();) {
      done.connections_closed += self->evict_idle(it->second);
      if (it->second.open == 0 && it->second.waiters.empty()) {
        it = self->origins_.erase(it);
        ++done.origins_forgotten;
      } else {
        ++it;
      }
    }
    done.origins_kept = self->origins_.size();
    self->complete(std::move(h), done);
  });
}

template <typename Handler, typename... Args>
void pool::complete(Handler handler, Args... args) {
  // Leave the strand first (post), then run on the handler's executor: the caller's coroutine
  // must never resume inside the strand and re-enter the pool from within it.
  asio::post(strand_.get_inner_executor(), [h = std::move(handler), ... args = std::move(args),
                                            fallback = strand_.get_inner_executor()]() mutable {
    auto ex = asio::get_associated_executor(h, fallback);
    asio::dispatch(ex, [h = std::move(h), ... args = std::move(args)]() mutable {
      asio::get_associated_cancellation_slot(h).clear();
      std::move(h)(std::move(args)...);
    });
  });
}

}  // namespace conclave::http::detail
