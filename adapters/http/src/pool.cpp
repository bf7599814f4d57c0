#include "pool.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

namespace asio = boost::asio;

namespace conclave::http::detail {

pool::pool(asio::any_io_executor ex, std::size_t max_per_origin,
           std::chrono::milliseconds idle_timeout)
    : strand_(asio::make_strand(std::move(ex))),
      max_per_origin_(std::max<std::size_t>(1, max_per_origin)),
      idle_timeout_(idle_timeout) {}

void pool::initiate_acquire(const origin& where, lease_handler handler) {
  const std::uint64_t id = next_waiter_id_++;
  std::string key = where.key();
  // Taken before the handler moves away; it refers to the caller's signal, which outlives
  // this operation. Assigned after the dispatch, so the strand sees acquire before any cancel.
  auto slot = asio::get_associated_cancellation_slot(handler);
  asio::dispatch(strand_, [self = shared_from_this(), key, id, h = std::move(handler)]() mutable {
    self->acquire_on_strand(key, id, std::move(h));
  });
  if (slot.is_connected()) {
    slot.assign([weak = weak_from_this(), key = std::move(key), id](asio::cancellation_type t) {
      if (t == asio::cancellation_type::none) return;
      if (auto self = weak.lock()) {
        asio::dispatch(self->strand_, [self, key, id] {
          self->drop_waiter(key, id, asio::error::operation_aborted);
        });
      }
    });
  }
}

void pool::acquire_on_strand(const std::string& key, std::uint64_t id, lease_handler handler) {
  origin_state& st = origins_[key];
  evict_idle(st);
  if (!st.idle.empty()) {
    auto c = std::move(st.idle.back());  // warmest first: most likely still open
    st.idle.pop_back();
    complete(std::move(handler), {}, std::move(c));
    return;
  }
  if (st.open < max_per_origin_) {
    ++st.open;
    complete(std::move(handler), {}, nullptr);
    return;
  }
  st.waiters.push_back(waiter{id, std::move(handler)});
}

void pool::release(const origin& where, std::unique_ptr<connection> c) {
  asio::dispatch(strand_,
                 [self = shared_from_this(), key = where.key(), c = std::move(c)]() mutable {
                   origin_state& st = self->origins_[key];
                   if (c) c->idle_since = clock::now();
                   if (!st.waiters.empty()) {
                     // Hand the slot over: a live connection, or (nullptr) the right to open a new
                     // one.
                     waiter w = std::move(st.waiters.front());
                     st.waiters.pop_front();
                     self->complete(std::move(w.handler), {}, std::move(c));
                     return;
                   }
                   if (c) {
                     st.idle.push_back(std::move(c));
                   } else {
                     --st.open;
                   }
                 });
}

void pool::drop_waiter(const std::string& key, std::uint64_t id, boost::system::error_code why) {
  auto it = origins_.find(key);
  if (it == origins_.end()) return;
  auto& waiters = it->second.waiters;
  auto w =
      std::find_if(waiters.begin(), waiters.end(), [id](const waiter& x) { return x.id == id; });
  if (w == waiters.end()) return;  // already served
  lease_handler handler = std::move(w->handler);
  waiters.erase(w);
  complete(std::move(handler), why, nullptr);
}

void pool::evict_idle(origin_state& st) {
  const auto oldest_allowed = clock::now() - idle_timeout_;
  while (!st.idle.empty() && st.idle.front()->idle_since < oldest_allowed) {
    st.idle.pop_front();
    --st.open;
  }
}

void pool::complete(lease_handler handler, boost::system::error_code ec,
                    std::unique_ptr<connection> c) {
  // Leave the strand first (post), then run on the handler's executor: the caller's coroutine
  // must never resume inside the strand and re-enter the pool from within it.
  asio::post(strand_.get_inner_executor(), [h = std::move(handler), ec, c = std::move(c),
                                            fallback = strand_.get_inner_executor()]() mutable {
    auto ex = asio::get_associated_executor(h, fallback);
    asio::dispatch(ex, [h = std::move(h), ec, c = std::move(c)]() mutable {
      asio::get_associated_cancellation_slot(h).clear();
      std::move(h)(ec, std::move(c));
    });
  });
}

}  // namespace conclave::http::detail
