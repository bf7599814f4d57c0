#include "client_exchange.hpp"
#include "connection.hpp"
#include "pool.hpp"
#include "tls.hpp"

#include <conclave/http/client.hpp>
#include <conclave/http/error.hpp>
#include <conclave/http/header_safety.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace conclave::http {
namespace {

constexpr auto use_tuple = detail::exchange_wait;  // deferred: no frame per wait

// Why `req` must not be sent (a field or the target that would break out of the request
// head), naming the field but never quoting it: it may be a key. Empty when it is safe.
std::string unsafe_part(const request_message& req) {
  const std::string_view target = req.target();
  if (find_control_char(target) != std::string_view::npos ||
      target.find(' ') != std::string_view::npos) {
    return "request target holds a control character or space; not sent";
  }
  for (const auto& field : req) {
    const std::string_view name = field.name_string();
    if (name.empty() || find_control_char(name) != std::string_view::npos ||
        name.find_first_of(" :") != std::string_view::npos) {
      return "a request header name holds a control character, space or colon; not sent";
    }
    if (!is_safe_header_value(field.value())) {
      return "request header '" + std::string(name) + "' holds a control character; not sent";
    }
  }
  return {};
}

// Cancels a request when its deadline passes or its caller cancels: one timer and one signal
// per request, cheaper than racing a second coroutine with `||` (measured: about 8 us of CPU
// per call). Held by the request's stream_call, which the timer's handler shares.
struct watchdog {
  explicit watchdog(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
  asio::cancellation_signal stop;
  bool expired = false;
};

// Errors meaning "the server had already closed this kept-alive connection".
bool is_stale_connection_error(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

}  // namespace

struct client::impl {
  impl(asio::any_io_executor ex, client_options o)
      : opts(std::move(o)),
        connections(std::make_shared<detail::pool>(ex, opts.max_connections_per_origin,
                                                   opts.idle_timeout)) {}

  // Made on the first https connection: loading the system CA store costs tens of
  // milliseconds of start-up that a plain-http client should not pay. Thread-safe.
  asio::ssl::context* tls_context() {
    std::call_once(tls_made,
                   [this] { tls = detail::make_client_tls_context(opts.tls, tls_error); });
    return tls.get();
  }

  // Holds a pool slot for the duration of one attempt; gives it back on every path out.
  struct slot_guard {
    std::shared_ptr<detail::pool> pool;
    const origin& where;
    std::unique_ptr<detail::connection> conn;
    bool reusable = false;
    ~slot_guard() {
      if (!reusable) conn.reset();  // close before the slot can be handed on
      pool->release(where, std::move(conn));
    }
  };

  asio::awaitable<error_code> open(const origin& where, std::unique_ptr<detail::connection>& out,
                                   std::string& detail, std::string& phase);
  asio::awaitable<response> run(const origin& where, request_message& req, const body_sink* sink,
                                const head_check* check, std::string& phase);

  client_options opts;
  std::shared_ptr<detail::pool> connections;
  std::once_flag tls_made;
  std::unique_ptr<asio::ssl::context> tls;
  std::string tls_error;  // why `tls` could not be made
};

asio::awaitable<error_code> client::impl::open(const origin& where,
                                               std::unique_ptr<detail::connection>& out,
                                               std::string& detail, std::string& phase) {
  auto ex = co_await asio::this_coro::executor;
  asio::ssl::context* tls_ctx = where.tls ? tls_context() : nullptr;
  if (where.tls && !tls_ctx) {
    detail = tls_error;
    co_return http::error::tls_config_invalid;
  }

  phase = "connecting";
  tcp::socket socket(ex);
  error_code ec;
  const auto address = asio::ip::make_address(where.host, ec);
  const bool host_is_ip = !ec;
  if (host_is_ip) {
    std::tie(ec) = co_await socket.async_connect(tcp::endpoint(address, where.port), use_tuple);
  } else {
    phase = "resolving " + where.host;
    tcp::resolver resolver(ex);
    // Resolver operations ignore cancellation slots in Asio 1.81: cancel the resolver itself.
    asio::cancellation_slot slot = (co_await asio::this_coro::cancellation_state).slot();
    if (slot.is_connected())
      slot.assign([&resolver](asio::cancellation_type) { resolver.cancel(); });
    auto [rec, endpoints] =
        co_await resolver.async_resolve(where.host, std::to_string(where.port), use_tuple);
    if (slot.is_connected()) slot.clear();
    if (rec) {
      detail = "cannot resolve '" + where.host + "': " + rec.message();
      co_return rec;
    }
    phase = "connecting";
    std::tie(ec, std::ignore) = co_await asio::async_connect(socket, endpoints, use_tuple);
  }
  if (ec) {
    detail = "cannot connect to " + where.key() + ": " + ec.message();
    co_return ec;
  }
  socket.set_option(tcp::no_delay(true), ec);

  if (!where.tls) {
    out = std::make_unique<detail::connection>(where, std::move(socket));
    co_return error_code{};
  }

  phase = "in the TLS handshake";
  detail::tls_socket stream(std::move(socket), *tls_ctx);
  detail::bind_peer_name(stream, where.host, host_is_ip);
  std::tie(ec) = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (ec) {
    const std::string reason = detail::verify_failure_reason(stream);
    detail = "TLS handshake with " + where.key() +
             " failed: " + (reason.empty() ? ec.message() : "certificate verify failed: " + reason);
    co_return ec;
  }
  out = std::make_unique<detail::connection>(where, std::move(stream));
  co_return error_code{};
}

asio::awaitable<response> client::impl::run(const origin& where, request_message& req,
                                            const body_sink* sink, const head_check* check,
                                            std::string& phase) {
  response out;
  for (int attempt = 0;; ++attempt) {
    phase = "waiting for a pooled connection";
    auto [ec, leased] = co_await connections->async_acquire(where, use_tuple);
    if (ec) {
      out.ec = ec;
      co_return out;
    }
    slot_guard slot{connections, where, std::move(leased)};
    if (!slot.conn) {
      std::string detail;
      if (auto oec = co_await open(where, slot.conn, detail, phase); oec) {
        out.ec = oec;
        out.failure_detail = std::move(detail);
        co_return out;
      }
      connections->count_opened();
    }

    out = response{};
    out.reused_connection = slot.conn->requests_served > 0;
    bool keep_alive = false;
    bool head_seen = false;
    detail::connection& c = *slot.conn;
    co_await c.visit([&](auto& s) {
      return detail::exchange(s, c.buffer, req, sink, check, opts.max_response_bytes, out,
                              keep_alive, head_seen, phase);
    });

    if (!out.ec && !out.stopped_by_sink) {
      ++c.requests_served;
      slot.reusable = keep_alive;
      co_return out;
    }
    // A kept-alive connection the server closed before answering anything (no head, not even
    // a 1xx: a server that sent one had the request, and must not get it twice): once, on a
    // fresh one.
    if (out.ec && out.reused_connection && !head_seen && attempt == 0 &&
        is_stale_connection_error(out.ec)) {
      continue;
    }
    if (out.ec && out.failure_detail.empty()) {
      out.failure_detail = out.ec.message() + " while " + phase;
    }
    co_return out;
  }
}

client::client(asio::any_io_executor ex, client_options opts)
    : executor_(ex), impl_(std::make_unique<impl>(std::move(ex), std::move(opts))) {}

client::~client() = default;

client_stats client::stats() const noexcept { return {impl_->connections->connections_opened()}; }

asio::awaitable<idle_eviction> client::evict_idle() {
  co_return co_await impl_->connections->async_evict_idle(asio::use_awaitable);
}

asio::awaitable<response> client::request(const origin& where, request_message req,
                                          clock::time_point deadline) {
  return stream(where, std::move(req), deadline, body_sink{});
}

namespace {

// What every request gets before it goes, and why it must not go (empty: it may).
std::string ready_to_send(request_message& req, const origin& where, const client_options& opts) {
  req.set(bhttp::field::host, where.host_header());
  if (req.find(bhttp::field::user_agent) == req.end()) {
    req.set(bhttp::field::user_agent, opts.user_agent);
  }
  req.keep_alive(true);
  req.prepare_payload();
  // Beast writes header values as they are: a CR LF inside one would inject headers.
  return unsafe_part(req);
}

// One request run as an operation, shared by its coroutine, its deadline and its completion.
// The watchdog's signal is the coroutine's cancellation: the deadline emits it, and the
// caller's cancellation goes through it.
struct stream_call {
  stream_call(asio::any_io_executor ex, request_message r, body_sink s, head_check c)
      : request(std::move(r)), sink(std::move(s)), check(std::move(c)), dog(std::move(ex)) {}
  request_message request;
  body_sink sink;
  head_check check;
  std::string phase;
  watchdog dog;
  asio::cancellation_slot caller;
  client::clock::time_point start = client::clock::now();
};

// A request ended by its deadline or by its caller, in the words a reader needs.
void explain_stop(response& out, bool expired, const std::string& phase) {
  if (out.ec && expired) {
    out.ec = beast::error::timeout;
    out.failure_detail = "deadline expired while " + phase;
  } else if (out.ec == asio::error::operation_aborted) {
    out.failure_detail.clear();  // cancelled by our caller, not the deadline
  }
}

}  // namespace

void client::start_stream(asio::any_io_executor ex, const origin& where, request_message req,
                          clock::time_point deadline, body_sink sink, head_check check,
                          asio::any_completion_handler<stream_signature> handler) {
  if (std::string why = ready_to_send(req, where, impl_->opts); !why.empty()) {
    response out;
    out.ec = http::error::unsafe_request;
    out.failure_detail = std::move(why);
    asio::post(ex, [h = std::move(handler), out = std::move(out)]() mutable {
      std::move(h)(nullptr, std::move(out));
    });
    return;
  }
  auto call = std::make_shared<stream_call>(ex, std::move(req), std::move(sink), std::move(check));
  if (deadline != clock::time_point::max()) {
    call->dog.timer.expires_at(deadline);
    call->dog.timer.async_wait([call](error_code ec) {
      if (ec) return;
      call->dog.expired = true;
      call->dog.stop.emit(asio::cancellation_type::terminal);
    });
  }
  call->caller = asio::get_associated_cancellation_slot(handler);
  if (call->caller.is_connected()) {
    // Only terminal: Beast's read and write honour nothing weaker.
    call->caller.assign([call](asio::cancellation_type type) {
      if ((type & asio::cancellation_type::terminal) != asio::cancellation_type::none) {
        call->dog.stop.emit(asio::cancellation_type::terminal);
      }
    });
  }
  auto done = [call, h = std::move(handler)](std::exception_ptr e, response out) mutable {
    if (call->caller.is_connected()) call->caller.clear();
    call->dog.timer.cancel();
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const boost::system::system_error& stopped) {  // cancelled between two steps
        out = response{};
        out.ec = stopped.code();
        e = nullptr;
      } catch (...) {  // a bug: the caller reports it
      }
    }
    explain_stop(out, call->dog.expired, call->phase);
    out.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - call->start);
    std::move(h)(e, std::move(out));
  };
  asio::co_spawn(ex, impl_->run(where, call->request, &call->sink, &call->check, call->phase),
                 asio::bind_cancellation_slot(call->dog.stop.slot(), std::move(done)));
}

asio::awaitable<response> client::stream(const origin& where, request_message req,
                                         clock::time_point deadline, body_sink sink,
                                         head_check check) {
  if (deadline != clock::time_point::max()) {  // the watchdog needs a coroutine of its own
    auto [e, out] = co_await async_stream(where, std::move(req), deadline, std::move(sink),
                                          std::move(check), asio::as_tuple(asio::deferred));
    if (e) std::rethrow_exception(e);
    co_return std::move(out);
  }
  // No deadline: the request runs in the caller's coroutine, cancelled by its cancellation.
  const auto start = clock::now();
  std::string phase;
  response out;
  if (std::string why = ready_to_send(req, where, impl_->opts); !why.empty()) {
    out.ec = http::error::unsafe_request;
    out.failure_detail = std::move(why);
  } else {
    out = co_await impl_->run(where, req, &sink, &check, phase);
  }
  out.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start);
  co_return out;
}

}  // namespace conclave::http
