// Per-origin connection pool: a cap on open connections per origin, keep-alive reuse, idle
// eviction, and a queue of waiters (waiter_list: first come, first served) when the cap is
// reached. All state lives on one strand, so the pool is safe when the io_context runs on
// several threads. It hands out connections, not just permits, so it keeps the sans-io
// waiter list itself rather than an async_semaphore.
#pragma once

#include "connection.hpp"

// The engine's header-only waiter list; conclave_http does not link the engine (nor see its
// include directory), so it is named by its path in the source tree.
#include <conclave/engine/waiter_list.hpp>
#include <conclave/http/client.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
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

  /// Completes with an idle connection to `where`, or with nullptr: a slot is reserved for the
  /// caller to open a new connection (it must release the slot either way). Waits in FIFO
  /// order while the origin is at its cap; fails with operation_aborted when the handler's
  /// cancellation slot fires (deadlines are the caller's race with a timer).
  template <typename CompletionToken>
  auto async_acquire(const origin& where, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, lease_signature>(
        [self = shared_from_this()](auto handler, const origin& o) {
          self->initiate_acquire(o, lease_handler(std::move(handler)));
        },
        token, where);
  }

  /// Gives a slot back: the connection if it may serve another request, else nullptr.
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
  struct waiter {
    std::uint64_t ticket;  // named before the strand sees it, for the cancellation slot
    lease_handler handler;
  };
  struct origin_state {
    std::deque<std::unique_ptr<connection>> idle;  // most recently used at the back
    waiter_list<waiter> waiters;
    std::size_t open = 0;  // idle + leased + being opened
  };

  void initiate_acquire(const origin& where, lease_handler handler);
  void initiate_evict(evict_handler handler);
  void acquire_on_strand(const origin& key, std::uint64_t ticket, lease_handler handler);
  void drop_waiter(const origin& key, std::uint64_t ticket, boost::system::error_code why);
  std::size_t evict_idle(origin_state& st);
  template <typename Handler, typename... Args>
  void complete(Handler handler, Args... args);

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  std::size_t max_per_origin_;
  std::chrono::milliseconds idle_timeout_;
  // Keyed by the origin itself: its key() string was built (allocated) twice per request.
  struct origin_hash {
    std::size_t operator()(const origin& o) const noexcept {
      return std::hash<std::string>{}(o.host) ^ (std::size_t{o.port} << 1) ^ std::size_t{o.tls};
    }
  };
  std::unordered_map<origin, origin_state, origin_hash> origins_;  // strand only
  std::atomic<std::uint64_t> next_ticket_{1};
  std::atomic<std::uint64_t> opened_{0};
};

}  // namespace conclave::http::detail
