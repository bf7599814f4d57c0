// Per-origin connection pool: a cap on open connections per origin, keep-alive reuse, idle
// eviction, and a queue of waiters (waiter_list: first come, first served) when the cap is
// reached. Its state is behind a mutex, so the pool is safe when the io_context runs on
// several threads; nothing runs under the lock but bookkeeping (completions are posted). It
// hands out connections, not just permits, so it keeps the sans-io waiter list itself rather
// than an async_semaphore.
//
// A mutex, not a strand: most acquires find a connection or a free slot at once, and take it
// with try_acquire() in the caller's own step. Through a strand over an any_io_executor, each
// acquire and release cost a hop and two heap allocations (the strand asks its inner executor
// whether it may block, and an any_io_executor returns that answer on the heap).
#pragma once

#include "connection.hpp"

// The engine's header-only waiter list; conclave_http does not link the engine (nor see its
// include directory), so it is named by its path in the source tree.
#include <conclave/engine/waiter_list.hpp>
#include <conclave/http/client.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace conclave::http::detail {

class pool : public std::enable_shared_from_this<pool> {
 public:
  using clock = std::chrono::steady_clock;
  using lease_signature = void(boost::system::error_code, std::unique_ptr<connection>);
  using lease_handler = boost::asio::any_completion_handler<lease_signature>;
  using evict_signature = void(idle_eviction);
  using evict_handler = boost::asio::any_completion_handler<evict_signature>;

  pool(boost::asio::any_io_executor ex, std::size_t max_per_origin,
       std::chrono::milliseconds idle_timeout);
  /// Idle connections are closed with a reset, not a FIN (see pool.cpp).
  ~pool();

  /// Now, without waiting: an idle connection to `where`, or nullptr (a slot is reserved for
  /// the caller to open a new connection; it must release the slot either way). None when the
  /// origin is at its cap: then async_acquire() waits in line.
  std::optional<std::unique_ptr<connection>> try_acquire(const origin& where);

  /// As try_acquire(), but waits in FIFO order while the origin is at its cap. Completes on
  /// the handler's executor, never inside this call; fails with operation_aborted when the
  /// handler's cancellation slot fires while it waits (deadlines are the caller's race with a
  /// timer).
  template <typename CompletionToken>
  auto async_acquire(const origin& where, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, lease_signature>(
        [self = shared_from_this()](auto handler, const origin& o) {
          self->initiate_acquire(o, lease_handler(std::move(handler)));
        },
        token, where);
  }

  /// Gives a slot back: the connection if it may serve another request, else nullptr. The
  /// first waiter, if any, gets it.
  void release(const origin& where, std::unique_ptr<connection> c);

  /// Closes every idle connection older than the idle timeout and forgets the origins with
  /// nothing open or waiting. Completes (never inline) with what it did.
  template <typename CompletionToken>
  auto async_evict_idle(CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, evict_signature>(
        [self = shared_from_this()](auto handler) {
          self->initiate_evict(evict_handler(std::move(handler)));
        },
        token);
  }

  std::uint64_t connections_opened() const noexcept { return opened_.load(); }
  void count_opened() noexcept { ++opened_; }

 private:
  struct origin_state {
    std::deque<std::unique_ptr<connection>> idle;  // most recently used at the back
    waiter_list<lease_handler> waiters;
    std::size_t open = 0;  // idle + leased + being opened
  };

  // Under the lock: what try_acquire() gives.
  std::optional<std::unique_ptr<connection>> take(origin_state& st);
  void initiate_acquire(const origin& where, lease_handler handler);
  void initiate_evict(evict_handler handler);
  void drop_waiter(const origin& key, waiter_list<lease_handler>::id_type id);
  std::size_t evict_idle(origin_state& st);
  template <typename Handler, typename... Args>
  void complete(Handler handler, Args... args);

  boost::asio::any_io_executor ex_;  // for completions whose handler names no executor
  std::size_t max_per_origin_;
  std::chrono::milliseconds idle_timeout_;
  // Keyed by the origin itself: its key() string was built (allocated) twice per request.
  struct origin_hash {
    std::size_t operator()(const origin& o) const noexcept {
      return std::hash<std::string>{}(o.host) ^ (std::size_t{o.port} << 1) ^ std::size_t{o.tls};
    }
  };
  std::mutex mutex_;
  std::unordered_map<origin, origin_state, origin_hash> origins_;  // under mutex_
  std::atomic<std::uint64_t> opened_{0};
};

}  // namespace conclave::http::detail
