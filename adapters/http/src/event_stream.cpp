// Server-sent events with backpressure. Producers on any thread append under a mutex and wake
// the pump by posting a cancel of its timer to the connection's executor (the pump only ever
// waits on that executor, so the cancel cannot slip in before its wait starts: it runs after
// the pump's current step). The same timer times the keep-alive comments.
#include <conclave/http/server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <mutex>

namespace asio = boost::asio;

namespace conclave::http {

struct event_stream::state {
  state(asio::any_io_executor ex, std::size_t max) : wake(std::move(ex)), max_bytes(max) {}

  asio::steady_timer wake;  // waited on by the pump only, on the connection's executor
  const std::size_t max_bytes;

  mutable std::mutex mutex;  // guards the members below; never held across a suspension
  std::deque<std::string> queue;
  std::size_t queued_bytes = 0;
  bool finished = false;
  bool dropped = false;
  bool ended = false;    // the pump returned: nobody will write again
  bool waiting = false;  // the pump waits on `wake`
  bool woken = false;    // a cancel is already posted
};

std::shared_ptr<event_stream> event_stream::create(asio::any_io_executor connection_executor,
                                                   std::size_t max_buffered_bytes) {
  return std::make_shared<event_stream>(std::move(connection_executor), max_buffered_bytes);
}

event_stream::event_stream(asio::any_io_executor ex, std::size_t max_bytes)
    : st_(std::make_unique<state>(std::move(ex), max_bytes)) {}

event_stream::~event_stream() = default;

// Called with the mutex held: wake the pump if it waits and nobody did yet.
void event_stream::wake_locked() {
  if (!st_->waiting || st_->woken) return;
  st_->woken = true;
  if (auto self = weak_from_this().lock()) {
    asio::post(st_->wake.get_executor(), [self] { self->st_->wake.cancel(); });
  }
}

bool event_stream::push(std::string frame) {
  std::lock_guard lock(st_->mutex);
  if (st_->finished || st_->dropped || st_->ended) return false;
  if (st_->queued_bytes + frame.size() > st_->max_bytes) {
    // The reader is too slow: give up on it rather than hold the producer or grow.
    st_->dropped = true;
    st_->queue.clear();
    st_->queued_bytes = 0;
    wake_locked();
    return false;
  }
  st_->queued_bytes += frame.size();
  st_->queue.push_back(std::move(frame));
  wake_locked();
  return true;
}

void event_stream::finish() {
  std::lock_guard lock(st_->mutex);
  st_->finished = true;
  wake_locked();
}

bool event_stream::dropped() const {
  std::lock_guard lock(st_->mutex);
  return st_->dropped;
}

asio::awaitable<bool> event_stream::pump(exchange& ex, std::chrono::milliseconds keepalive) {
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  auto& st = *st_;
  auto end = [&](bool result) {
    std::lock_guard lock(st.mutex);
    st.ended = true;
    st.queue.clear();
    st.queued_bytes = 0;
    return result;
  };
  auto last_write = std::chrono::steady_clock::now();
  for (;;) {
    std::string batch;
    bool finished = false, dropped = false;
    {
      std::lock_guard lock(st.mutex);
      st.waiting = false;
      st.woken = false;
      dropped = st.dropped;
      finished = st.finished;
      for (auto& f : st.queue) batch += f;
      st.queue.clear();
      st.queued_bytes = 0;
      if (batch.empty() && !finished && !dropped) st.waiting = true;
    }
    if (dropped) {
      ex.close_after();
      static constexpr std::string_view note = ": dropped: the client reads too slowly\n\n";
      co_await ex.write(note);
      co_return end(false);
    }
    if (!batch.empty()) {
      if (!co_await ex.write(batch)) co_return end(false);
      last_write = std::chrono::steady_clock::now();
      continue;
    }
    if (finished) co_return end(true);
    if (ex.peer_gone()) co_return end(false);
    const auto due = last_write + keepalive;
    if (std::chrono::steady_clock::now() >= due) {
      static constexpr std::string_view ping = ": keep-alive\n\n";
      {
        std::lock_guard lock(st.mutex);
        st.waiting = false;
      }
      if (!co_await ex.write(ping)) co_return end(false);
      last_write = std::chrono::steady_clock::now();
      continue;
    }
    st.wake.expires_at(due);
    co_await st.wake.async_wait(use_tuple);  // ends at `due` or by a producer's cancel
    if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
      co_return end(false);
  }
}

}  // namespace conclave::http
