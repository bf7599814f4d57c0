// HTTP/1.1 server (TCP or TLS) for long-lived services and the mock model: an acceptor, one
// session per connection (keep-alive, header and body limits, header/body/idle/write timeouts),
// a router by method and path, and responses written whole, as a chunked stream, or raw (for
// fault injection). Beast does not enforce any of this by itself (see the README): the session
// reads into a capped buffer, checks Transfer-Encoding itself, and answers oversized requests
// with 413 / 431 / 414 rather than a reset (SDKs retry resets).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conclave::http {

using header_list = std::vector<std::pair<std::string, std::string>>;
using incoming_request = boost::beast::http::request<boost::beast::http::string_body>;

struct server_limits {
  std::size_t max_header_bytes = 16 * 1024;          ///< request line + headers; over: 431 (414 for
                                                     ///< a target alone over it), then close
  std::size_t max_body_bytes = 1024 * 1024;          ///< over: 413, then close
  std::chrono::milliseconds header_timeout{10'000};  ///< a request's header must arrive within
                                                     ///< this (slowloris): 408, then close
  std::chrono::milliseconds body_timeout{30'000};    ///< its body, after the header: 408, close
  std::chrono::milliseconds idle_timeout{60'000};    ///< keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30'000};   ///< one write stalled this long: close
  std::size_t max_requests_per_connection = 0;       ///< then close after the reply; 0: no cap
  /// At that cap, close without announcing it (no `connection: close` in the last reply), as
  /// a server's idle reaper races a client that reuses the connection (the mock's faults).
  bool quiet_request_cap = false;
  std::size_t max_connections = 10'000;  ///< beyond: accepted and closed at once
};

struct server_tls {
  std::string certificate_chain_pem;
  std::string private_key_pem;
};

struct server_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: an ephemeral port, see server::port()
  server_limits limits;
  std::optional<server_tls> tls;  ///< serve https
  /// The io_context runs on one thread: connections skip their strands (cheaper). Leave
  /// false when several threads may run the executor.
  bool single_threaded = false;
  /// Name in logs and the `server` header; empty: no `server` header.
  std::string name;
  /// Request ids (see exchange::request_id) start so, followed by 16 hex digits.
  std::string request_id_prefix = "req_";
};

class exchange;

/// A request handler. It runs on the connection's executor (its strand); the connection reads
/// its next request only after the handler returns. A handler that returns without a complete
/// response (or throws) ends the connection: the client sees the close, never a hang.
using handler = std::function<boost::asio::awaitable<void>(exchange&)>;

/// One request and the means to answer it. Lives for the handler's call.
class exchange {
 public:
  virtual ~exchange() = default;

  virtual const incoming_request& request() const = 0;
  /// The target's path, without the query ("/v1/tasks/7").
  virtual std::string_view path() const = 0;
  /// The query's value for `name` (percent-decoded), if present.
  virtual std::optional<std::string> query(std::string_view name) const = 0;
  /// A `{name}` segment the route captured ("/v1/tasks/{id}" → param("id")); empty if none.
  virtual std::string_view param(std::string_view name) const = 0;
  /// The peer's address (for "loopback only" decisions and logs).
  virtual boost::asio::ip::tcp::endpoint remote_endpoint() const = 0;
  /// A short id the server gives every request ("req_1a2b3c…"). Every response carries it as
  /// x-request-id, unless the handler gives an x-request-id of its own.
  virtual const std::string& request_id() const = 0;

  /// Headers every response of this request carries (added before the response starts). One
  /// value per name: a later add_header() replaces an earlier one, a response's `extra` both.
  virtual void add_header(std::string name, std::string value) = 0;
  /// The connection closes after this response (instead of keep-alive).
  virtual void close_after() = 0;

  /// A whole response. Returns false when the peer is gone or a write timed out (the
  /// connection then closes). A HEAD request gets the headers only; 529 says "Overloaded".
  virtual boost::asio::awaitable<bool> respond(unsigned status, std::string content_type,
                                               std::string body, header_list extra = {}) = 0;
  boost::asio::awaitable<bool> json(unsigned status, std::string body, header_list extra = {}) {
    return respond(status, "application/json", std::move(body), std::move(extra));
  }

  /// Starts a streamed 200 (chunked; close-delimited for an HTTP/1.0 client), e.g. SSE with
  /// `cache-control: no-cache`. Then write() pieces and end_stream().
  virtual boost::asio::awaitable<bool> start_stream(
      std::string content_type = "text/event-stream; charset=utf-8", header_list extra = {},
      unsigned status = 200) = 0;
  /// One piece of a started stream (one chunk on the wire). False: peer gone / write timeout.
  /// Writes of one exchange go one at a time (an until_peer_gone() may run beside them).
  virtual boost::asio::awaitable<bool> write(std::string_view data) = 0;
  /// The stream's end (the last chunk); the connection may serve another request after it.
  virtual boost::asio::awaitable<bool> end_stream() = 0;

  /// Bytes straight onto the connection, no framing (fault injection: an interim 103, a
  /// response cut short). After raw writes the connection closes when the handler returns,
  /// unless mark_complete() says the bytes made a whole response.
  virtual boost::asio::awaitable<bool> write_raw(std::string_view bytes) = 0;
  virtual void mark_complete() = 0;
  /// Closes the connection with a reset (RST), now.
  virtual void reset() = 0;
  /// Completes when the peer closes or resets the connection (or the server stops). Reads and
  /// discards anything the peer sends meanwhile; the connection then closes after the handler.
  /// Race a long operation against it to notice a client that went away.
  virtual boost::asio::awaitable<void> until_peer_gone() = 0;
  /// Whether a write failed or the peer was seen gone.
  virtual bool peer_gone() const = 0;
};

/// Routes by method and path. Exact paths may hold `{name}` segments; suffix routes match any
/// path ending so (the mock answers under any base path). First match wins, exact before suffix.
/// A path that matches with another method gets 405 with `Allow`; no match: 404 (both through
/// the fallback when one is set, with the status it should send; the server adds `Allow`).
/// HEAD is served by a GET route when no HEAD route matches (the body is not sent). `{name}`
/// captures one non-empty segment, percent-decoded.
class router {
 public:
  router& add(std::string method, std::string pattern, handler h);
  router& add_suffix(std::string method, std::string suffix, handler h);
  /// Called for 404 / 405 instead of the default JSON error body.
  router& fallback(std::function<boost::asio::awaitable<void>(exchange&, unsigned status)> f);

  struct route {
    std::string method;
    std::vector<std::string> segments;  ///< exact: split pattern; suffix: one element
    bool suffix = false;
    handler h;
  };
  /// What a request's method and path lead to: the handler and captured params, or the status
  /// (404 / 405) and, for 405, the methods allowed.
  struct match_result {
    const handler* h = nullptr;
    std::map<std::string, std::string, std::less<>> params;
    unsigned status = 0;
    std::string allow;
  };
  match_result match(std::string_view method, std::string_view path) const;
  const std::function<boost::asio::awaitable<void>(exchange&, unsigned)>& fallback_handler() const {
    return fallback_;
  }

 private:
  std::vector<route> routes_;
  std::function<boost::asio::awaitable<void>(exchange&, unsigned)> fallback_;
};

/// The JSON error body the server layer itself sends (413, 431, 408, 404...), in the OpenAI
/// shape: {"error":{"message":…,"type":…,"param":null,"code":…}}.
std::string error_body(std::string_view message, std::string_view type, std::string_view code,
                       std::string_view param = {});

struct server_stats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t requests = 0;
  std::uint64_t refused_too_large = 0;  ///< 413 / 431 / 414 sent
  std::uint64_t timed_out = 0;          ///< header / body / write timeouts
};

/// The server. Thread safety: start/stop/stats from any thread; each connection runs on its
/// own strand (unless single_threaded), so a multi-threaded io_context is fine.
class server {
 public:
  server(boost::asio::any_io_executor ex, server_options opts, router routes);
  ~server();  ///< stop() and close_all()
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and listens (port() known on return), then accepts on the executor. Throws
  /// boost::system::system_error when the address cannot be bound or TLS material is bad.
  void start();
  /// Stops accepting; connections idle between requests close; requests in progress finish.
  void stop();
  /// Closes every connection now (streams end, until_peer_gone completes).
  void close_all();

  std::uint16_t port() const noexcept;
  /// "http://ADDRESS:PORT" (https with TLS); an IPv6 address in brackets.
  std::string origin() const;
  server_stats stats() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// A server-sent-events stream with backpressure: producers push frames from any thread
/// (never blocking), the handler pumps them to its exchange. When the frames waiting exceed
/// `max_buffered_bytes` (a reader too slow), the stream is dropped: what was queued is
/// discarded, one `: dropped: the client reads too slowly` comment goes out and the connection
/// closes, so a slow reader never stalls the producer (a run).
class event_stream : public std::enable_shared_from_this<event_stream> {
 public:
  static std::shared_ptr<event_stream> create(boost::asio::any_io_executor connection_executor,
                                              std::size_t max_buffered_bytes = 256 * 1024);
  /// Queues one frame (already formatted: "id: 3\nevent: x\ndata: {...}\n\n"). False once the
  /// stream ended, was dropped, or the peer is gone.
  bool push(std::string frame);
  /// No more frames: pump() returns once the queue is written.
  void finish();
  /// Writes frames as they come until finish() (then true) or a drop / peer gone (false). When
  /// nothing went out for `keepalive`, writes an SSE comment (": keep-alive").
  /// Call after exchange.start_stream(); does not end the stream itself.
  boost::asio::awaitable<bool> pump(exchange& ex,
                                    std::chrono::milliseconds keepalive = std::chrono::seconds(15));
  bool dropped() const;

  event_stream(boost::asio::any_io_executor ex, std::size_t max_bytes);  // use create()
  ~event_stream();

 private:
  struct state;
  void wake_locked();
  std::unique_ptr<state> st_;
};

}  // namespace conclave::http
