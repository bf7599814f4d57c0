// How a call starts and how it is stopped: the deadline and the caller's cancellation wired
// to stop_now(), and the first step, in start_call() itself when the caller runs on the call's
// executor. Internal to adapters/http.
#include "client_call.hpp"
#include "stream_call.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

namespace asio = boost::asio;
using boost::system::error_code;

namespace conclave::http::detail {
namespace {

// The deadline or the caller stopped the call: the pending step's operation is cancelled, and
// the socket shut, because Beast's reads (a chunk header split across reads, a TLS record,
// a handshake) loop over socket reads without looking at a stop that came between two of
// them: the next read fails at once instead of waiting on a peer that has stalled.
void stop_now(const call_ptr& c) {
  c->stopped = true;
  c->stop.emit(asio::cancellation_type::terminal);
  auto shut = [](auto& stream) {
    error_code ignored;
    stream.lowest_layer().shutdown(tcp_socket::shutdown_both, ignored);
  };
  if (c->conn) c->conn->visit(shut);
  if (c->opener) {
    if (c->opener->tls) {
      shut(*c->opener->tls);
    } else {
      shut(c->opener->socket);
    }
  }
}

// Whether the caller runs on `ex` now (its io_context's thread, or inside its strand): the
// first step then runs in start_call (a kept-alive connection starts its exchange there, see
// acquire()); else it is posted, as any step, so a call started from another thread never
// touches the call's state beside the steps on `ex`.
bool runs_here(const asio::any_io_executor& ex) {
  if (const auto* io = ex.target<asio::io_context::executor_type>()) {
    return io->running_in_this_thread();
  }
  if (const auto* s = ex.target<asio::strand<asio::io_context::executor_type>>()) {
    return s->running_in_this_thread();
  }
  if (const auto* s = ex.target<asio::strand<asio::any_io_executor>>()) {
    return s->running_in_this_thread();
  }
  return false;
}

struct first_step {
  call_ptr self;
  void operator()() const { acquire(self); }
};

}  // namespace

void start_call(client_core& core, asio::any_io_executor ex, const origin& where, std::string head,
                std::string body, client::clock::time_point deadline, body_sink sink,
                head_check check, asio::any_completion_handler<client::stream_signature> handler) {
  auto c = std::make_shared<stream_call>(core, ex, where, std::move(head), std::move(body),
                                         std::move(sink), std::move(check), std::move(handler));
  if (deadline != client::clock::time_point::max()) {
    c->deadline.expires_at(deadline);
    c->deadline.async_wait([c](error_code ec) {
      if (ec || c->ended) return;
      c->expired = true;
      stop_now(c);
    });
  }
  c->caller = asio::get_associated_cancellation_slot(c->handler);
  if (c->caller.is_connected()) {
    // Only terminal: Beast's read and write honour nothing weaker.
    c->caller.assign([c](asio::cancellation_type type) {
      if ((type & asio::cancellation_type::terminal) == asio::cancellation_type::none) return;
      if (c->ended) return;
      stop_now(c);
    });
  }
  if (!runs_here(ex)) {
    asio::post(ex, step_handler(*c, first_step{c}));
    return;
  }
  try {
    acquire(c);
  } catch (...) {
    // As a step's throw, but reported as a step: never inside this call.
    asio::post(ex, [c, bug = std::current_exception()] {
      try {
        std::rethrow_exception(bug);
      } catch (...) {
        step_threw(c);
      }
    });
  }
}

}  // namespace conclave::http::detail
