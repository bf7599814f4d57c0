// An asynchronous counting semaphore with priorities: callers wait for a permit, the highest
// priority first and first come first served within a priority (waiter_list.hpp). Used by
// limited_model for its adaptive concurrency cap; anything that limits how many run at once
// (a run's slots, a task queue) can use it the same way.
//
// Why not an experimental::channel used as a semaphore and raced against a timer: a receive
// cancelled as a value arrives can lose the value (chriskohlhoff/asio#1041), and a lost permit
// stalls every later caller. Here a grant and a cancel meet under one mutex: whichever comes
// first wins, and a permit is never lost.
#pragma once

#include <conclave/engine/waiter_list.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <mutex>
#include <utility>

namespace conclave {

/// Thread safety: every member may be called from any thread at once. A handler is never
/// called inside a member function: it is posted to its associated executor (the system
/// executor when it has none; it must convert to any_io_executor, as Asio's own do). The semaphore
/// must outlive its waiters (cancel_all() and let the completions run before destroying it).
class async_semaphore {
 public:
  using signature = void(boost::system::error_code);

  explicit async_semaphore(std::size_t permits);
  ~async_semaphore();
  async_semaphore(const async_semaphore&) = delete;
  async_semaphore& operator=(const async_semaphore&) = delete;

  /// Waits for a permit. Completion signature: void(error_code). Success: the caller holds
  /// one permit and must release() it. operation_aborted: no permit is held; either the
  /// handler's cancellation slot fired (any type but none) while it waited, or cancel_all().
  /// A cancel that comes after the permit was granted is ignored: the caller gets success and
  /// holds the permit (so a cancel racing a grant can never lose one). The waiter keeps its
  /// executor's work count up while it waits.
  /// For a timeout, emit the handler's cancellation signal from a timer (on the handler's
  /// executor) and look at the result; do not race the wait with `||`: when the grant comes
  /// as the other side wins, `||` drops the result and the permit with it.
  template <typename CompletionToken>
  auto async_acquire(int priority, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, signature>(
        [this](auto handler, int p) {
          // Taken while the handler's type is known: a type-erased completion executor cannot
          // be posted to (it lacks blocking.never), an any_io_executor can.
          boost::asio::any_io_executor ex = boost::asio::get_associated_executor(handler);
          initiate(p, handler_type(std::move(handler)), std::move(ex));
        },
        token, priority);
  }
  /// async_acquire at priority 0.
  template <typename CompletionToken>
  auto async_acquire(CompletionToken&& token) {
    return async_acquire(0, std::forward<CompletionToken>(token));
  }

  /// Takes a permit now if one is free and nobody waits (never overtakes a waiter).
  bool try_acquire();
  /// Gives `n` permits back: each goes to the first waiter, else back to the free count
  /// (after paying any retirement owed, see retire_permit()).
  void release(std::size_t n = 1);
  /// Puts `n` more permits into circulation (a cap that grew); cancels owed retirements first.
  void add_permits(std::size_t n);
  /// Takes one permit out of circulation (a cap that shrank): a free one now (true), else the
  /// next one released (false).
  bool retire_permit();
  /// Every waiter completes with operation_aborted (shutdown). Permits are untouched.
  void cancel_all();

  /// Free permits now.
  std::size_t available() const;
  /// Callers waiting now.
  std::size_t waiting() const;
  /// Retirements owed: permits still held that will not come back when released.
  std::size_t retiring() const;

 private:
  using handler_type = boost::asio::any_completion_handler<signature>;
  struct waiter {
    handler_type handler;
    boost::asio::any_io_executor work;  // the handler's executor, tracking work
  };

  void initiate(int priority, handler_type handler, boost::asio::any_io_executor ex);
  void cancel_one(waiter_list<waiter>::id_type id);
  // Posts the waiter's completion: clears its cancellation slot, then calls it.
  static void complete(waiter w, boost::system::error_code ec);

  mutable std::mutex mutex_;  // never held while a handler runs
  std::size_t free_;
  std::size_t owed_ = 0;  // retirements still to take from permits released
  waiter_list<waiter> waiters_;
};

}  // namespace conclave
