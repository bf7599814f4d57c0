#include <conclave/engine/async_semaphore.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <algorithm>
#include <optional>
#include <vector>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave {

async_semaphore::async_semaphore(std::size_t permits) : free_(permits) {}

// Waiters left behind are destroyed with their handlers, as an io_context does at shutdown.
async_semaphore::~async_semaphore() = default;

void async_semaphore::initiate(int priority, handler_type handler, asio::any_io_executor ex) {
  waiter w{std::move(handler), asio::prefer(ex, asio::execution::outstanding_work.tracked)};
  auto slot = asio::get_associated_cancellation_slot(w.handler);
  {
    std::lock_guard lock(mutex_);
    if (!waiters_.empty() || free_ == 0) {
      const auto id = waiters_.push(std::move(w), priority);
      // Assigned after queueing and under the mutex: a grant (which also takes the mutex)
      // cannot complete the handler, and clear the slot, before the slot handler is in place.
      if (slot.is_connected()) {
        slot.assign([this, id](asio::cancellation_type type) {
          if (type != asio::cancellation_type::none) cancel_one(id);
        });
      }
      return;
    }
    --free_;
  }
  complete(std::move(w), {});  // posted: never inside the initiating function
}

void async_semaphore::cancel_one(waiter_list<waiter>::id_type id) {
  std::optional<waiter> w;
  {
    std::lock_guard lock(mutex_);
    w = waiters_.remove(id);
  }
  // Not waiting any more: it was granted (its success is on the way) or already cancelled.
  if (w) complete(std::move(*w), asio::error::operation_aborted);
}

bool async_semaphore::try_acquire() {
  std::lock_guard lock(mutex_);
  if (!waiters_.empty() || free_ == 0) return false;
  --free_;
  return true;
}

void async_semaphore::release(std::size_t n) {
  for (; n > 0; --n) {
    std::optional<waiter> w;
    {
      std::lock_guard lock(mutex_);
      if (owed_ > 0) {
        --owed_;  // the cap shrank: this permit leaves circulation
        continue;
      }
      w = waiters_.pop();  // removed under the mutex: a cancel from now on finds nobody
      if (!w) {
        free_ += n;  // nobody waits and nothing is owed: the rest are free
        return;
      }
    }
    complete(std::move(*w), {});
  }
}

void async_semaphore::add_permits(std::size_t n) {
  {
    std::lock_guard lock(mutex_);
    const std::size_t cancelled = std::min(n, owed_);
    owed_ -= cancelled;
    n -= cancelled;
  }
  release(n);
}

bool async_semaphore::retire_permit() {
  std::lock_guard lock(mutex_);
  if (free_ > 0) {
    --free_;
    return true;
  }
  ++owed_;
  return false;
}

void async_semaphore::cancel_all() {
  std::vector<waiter> all;
  {
    std::lock_guard lock(mutex_);
    all.reserve(waiters_.size());
    while (auto w = waiters_.pop()) all.push_back(std::move(*w));
  }
  for (auto& w : all) complete(std::move(w), asio::error::operation_aborted);
}

std::size_t async_semaphore::available() const {
  std::lock_guard lock(mutex_);
  return free_;
}

std::size_t async_semaphore::waiting() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

std::size_t async_semaphore::retiring() const {
  std::lock_guard lock(mutex_);
  return owed_;
}

void async_semaphore::complete(waiter w, error_code ec) {
  auto ex = w.work;
  asio::post(ex, [w = std::move(w), ec]() mutable {
    // Cleared on the handler's executor, where its cancellation is emitted: from here on a
    // cancel reaches nobody, and the slot handler (which points at us) is gone.
    asio::get_associated_cancellation_slot(w.handler).clear();
    std::move(w.handler)(ec);
  });
}

}  // namespace conclave
