#include "pool.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include <algorithm>
#include <utility>

namespace asio = boost::asio;

namespace conclave::http::detail {

pool::pool(asio::any_io_executor ex, std::size_t max_per_origin,
           std::chrono::milliseconds idle_timeout)
    : ex_(std::move(ex)),
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

std::optional<std::unique_ptr<connection>> pool::take(origin_state& st) {
  evict_idle(st);
  if (!st.waiters.empty()) return std::nullopt;  // never ahead of those in line
  if (!st.idle.empty()) {
    auto c = std::move(st.idle.back());  // warmest first: most likely still open
    st.idle.pop_back();
    return c;
  }
  if (st.open < max_per_origin_) {
    ++st.open;
    return std::unique_ptr<connection>{};
  }
  return std::nullopt;
}

std::optional<std::unique_ptr<connection>> pool::try_acquire(const origin& where) {
  const std::lock_guard lock(mutex_);
  return take(origins_[where]);
}

void pool::initiate_acquire(const origin& where, lease_handler handler) {
  std::unique_lock lock(mutex_);
  origin_state& st = origins_[where];
  if (auto leased = take(st)) {
    lock.unlock();
    complete(std::move(handler), boost::system::error_code{}, std::move(*leased));
    return;
  }
  // Assigned under the lock, before the waiter is in line: a release on another thread may
  // hand it a connection as soon as the lock is let go, and its completion clears the slot.
  // The slot refers to the caller's signal, which outlives the wait; the signal is emitted on
  // the caller's side, never while this runs.
  auto slot = asio::get_associated_cancellation_slot(handler);
  const auto id = st.waiters.push(std::move(handler));
  if (slot.is_connected()) {
    slot.assign([weak = weak_from_this(), key = where, id](asio::cancellation_type t) {
      if (t == asio::cancellation_type::none) return;
      if (auto self = weak.lock()) self->drop_waiter(key, id);
    });
  }
}

void pool::release(const origin& where, std::unique_ptr<connection> c) {
  std::unique_lock lock(mutex_);
  origin_state& st = origins_[where];
  if (c) c->idle_since = clock::now();
  if (auto next = st.waiters.pop()) {
    lock.unlock();
    // Hand the slot over: a live connection, or (nullptr) the right to open a new one.
    complete(std::move(*next), boost::system::error_code{}, std::move(c));
    return;
  }
  if (c) {
    st.idle.push_back(std::move(c));
  } else {
    --st.open;
  }
}

void pool::drop_waiter(const origin& key, waiter_list<lease_handler>::id_type id) {
  std::unique_lock lock(mutex_);
  auto it = origins_.find(key);
  if (it == origins_.end()) return;
  auto handler = it->second.waiters.remove(id);
  lock.unlock();
  if (!handler) return;  // already served
  complete(std::move(*handler), asio::error::operation_aborted, std::unique_ptr<connection>{});
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
  idle_eviction done;
  {
    const std::lock_guard lock(mutex_);
    for (auto it = origins_.begin(); it != origins_.end();) {
      done.connections_closed += evict_idle(it->second);
      if (it->second.open == 0 && it->second.waiters.empty()) {
        it = origins_.erase(it);
        ++done.origins_forgotten;
      } else {
        ++it;
      }
    }
    done.origins_kept = origins_.size();
  }
  complete(std::move(handler), done);
}

// Posted to the handler's executor: never inside the call that started the operation, nor
// under the lock (the caller may acquire again from its handler).
template <typename Handler, typename... Args>
void pool::complete(Handler handler, Args... args) {
  auto ex = asio::get_associated_executor(handler, ex_);
  asio::post(ex_, asio::bind_executor(std::move(ex), [h = std::move(handler),
                                                      ... args = std::move(args)]() mutable {
               asio::get_associated_cancellation_slot(h).clear();
               std::move(h)(std::move(args)...);
             }));
}

}  // namespace conclave::http::detail
