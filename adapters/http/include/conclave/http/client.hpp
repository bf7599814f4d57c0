// Pooled HTTP/1.1 client over TCP and TLS. Knows sockets and HTTP, nothing about models.
#pragma once

#include <conclave/http/header_fields.hpp>
#include <conclave/http/origin.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace conclave::http {

namespace detail {
class pool;
}

struct tls_options {
  bool verify_peer = true;  ///< verify the server's certificate chain and name; keep it on
  std::string ca_file;      ///< PEM file of trusted CAs; empty: the system store
};

struct client_options {
  std::size_t max_connections_per_origin = 256;       ///< further requests wait for a free one
  std::chrono::milliseconds idle_timeout{30'000};     ///< idle connections older than this close
  std::size_t max_response_bytes = 32 * 1024 * 1024;  ///< larger bodies fail (body_limit)
  std::string user_agent = "conclave/0.1";            ///< sent unless the request sets one
  tls_options tls;                                    ///< for https origins
};

/// A request. Made as Beast's (`request_message m{verb, target, 11}`), its fields allocate one
/// by one; make_request() gives them a block.
using request_message = boost::beast::http::request<boost::beast::http::string_body, header_fields>;

/// A request whose target and fields take one block of `block_bytes` (more blocks when they
/// outgrow it): for a codec that sets a few fields on every call. HTTP/1.1.
request_message make_request(boost::beast::http::verb method, std::string_view target,
                             std::size_t block_bytes = 512);
/// The same, to base.target(relative), made in the block too.
request_message make_request(boost::beast::http::verb method, const base_url& base,
                             std::string_view relative, std::size_t block_bytes = 512);

struct response {
  boost::system::error_code ec;  ///< transport failure; HTTP error statuses are not failures
  std::string failure_detail;    ///< plain words on `ec` (e.g. "certificate verify failed:
                                 ///< hostname mismatch"), for diagnostics
  unsigned status = 0;           ///< 0 when no status line was read
  header_fields headers;         ///< as Beast's fields (header_fields.hpp)
  std::string body;              ///< whole body; for a streamed 2xx reply, empty
  bool stopped_by_sink = false;  ///< the body sink asked to stop reading
  bool reused_connection = false;
  std::chrono::microseconds elapsed{0};  ///< from start to last byte read
};

/// Receives a 2xx body piece by piece as it arrives; return false to stop reading (the
/// connection is then closed, not reused).
using body_sink = std::function<bool(std::string_view chunk)>;

/// Looks at a 2xx reply's head (`status` and `headers` are set) before its body goes to the
/// sink: return false to refuse it unread (the connection is then closed, not reused, and
/// `stopped_by_sink` is set). E.g. an SSE reader refusing a text/html 200.
using head_check = std::function<bool(const response& head)>;

struct client_stats {
  std::uint64_t connections_opened = 0;  ///< TCP (and TLS) connections established so far
};

/// What one client::evict_idle() did.
struct idle_eviction {
  std::size_t connections_closed = 0;  ///< idle connections past the idle timeout, closed
  std::size_t origins_forgotten = 0;   ///< origins with nothing open or waiting, dropped
  std::size_t origins_kept = 0;        ///< origins still known (something open or waiting)
};

/// Thread safety: `request` and `stream` may run concurrently from any number of coroutines
/// on any threads; the pool behind them keeps its state behind a mutex (held only for
/// bookkeeping, never across a handler or a system call but an evicted socket's close). The client
/// must outlive every operation it started.
class client {
 public:
  using clock = std::chrono::steady_clock;

  explicit client(boost::asio::any_io_executor ex, client_options opts = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  boost::asio::any_io_executor get_executor() const noexcept { return executor_; }

  /// Sends `req` to `where` and reads the whole response. Interim 1xx responses (103 Early
  /// Hints, 100 Continue) are read and dropped; `response` is the final one. A header value or
  /// target holding a control character is never sent: ec = http::error::unsafe_request.
  /// Every step (pool wait, DNS,
  /// connect, TLS, write, read) must finish before `deadline`, else ec = beast::error::timeout.
  /// A kept-alive connection the server had closed is replaced transparently, once, when it
  /// answered nothing: a request the server answered any head to (a 1xx too) is never resent.
  /// Cancellation: terminal, through the awaiting coroutine (Beast's HTTP read and write honour
  /// only terminal); the connection in use is then closed, and ec = operation_aborted.
  boost::asio::awaitable<response> request(const origin& where, request_message req,
                                           clock::time_point deadline = clock::time_point::max());

  /// Like `request`, but a 2xx body goes to `sink` as it arrives instead of `response::body`
  /// (a non-2xx body, usually a JSON error, is still collected whole), once `check` (if set)
  /// accepted its head.
  boost::asio::awaitable<response> stream(const origin& where, request_message req,
                                          clock::time_point deadline, body_sink sink,
                                          head_check check = {});

  using stream_signature = void(std::exception_ptr, response);

  /// `stream` as an operation: completes with (nullptr, response) as `stream` returns, or with
  /// the exception a bug threw (never a transport or HTTP failure: those are in
  /// `response::ec`). No coroutine (awaiting `stream` adds the caller's own): a chain of
  /// handlers over one state per request in flight. It runs and completes on the handler's
  /// associated executor (else get_executor()) and cancels through the handler's cancellation
  /// slot as `stream` does; like any Asio operation's, that slot is to be emitted on that
  /// executor (it is cleared there). `where` must outlive the operation.
  template <typename CompletionToken>
  auto async_stream(const origin& where, request_message req, clock::time_point deadline,
                    body_sink sink, head_check check, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, stream_signature>(
        [this](auto on_done, const origin* at, request_message r, clock::time_point due,
               body_sink s, head_check c) {
          auto ex = boost::asio::get_associated_executor(on_done, executor_);
          start_stream(std::move(ex), *at, std::move(r), due, std::move(s), std::move(c),
                       boost::asio::any_completion_handler<stream_signature>(std::move(on_done)));
        },
        token, &where, std::move(req), deadline, std::move(sink), std::move(check));
  }

  client_stats stats() const noexcept;

  /// Upkeep for a long-lived host, called on a timer (a request only evicts the idle
  /// connections of its own origin): closes every idle connection older than the idle
  /// timeout now and forgets the origins with nothing open or waiting, so memory stays bounded
  /// under many origins. An operation, not a plain call: it completes on the caller's
  /// executor, never inside this call.
  boost::asio::awaitable<idle_eviction> evict_idle();

 private:
  void start_stream(boost::asio::any_io_executor ex, const origin& where, request_message req,
                    clock::time_point deadline, body_sink sink, head_check check,
                    boost::asio::any_completion_handler<stream_signature> handler);

  struct impl;
  boost::asio::any_io_executor executor_;
  std::unique_ptr<impl> impl_;
};

}  // namespace conclave::http
