// Inside the HTTP server: what the acceptor and the connections share (server_core), one
// connection (its transport, TCP or TLS, its one deadline timer and the session that reads
// requests and calls handlers), and the exchange a handler answers through.
#pragma once

#include <conclave/http/server.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <tuple>

namespace conclave::http::detail {

/// Options, routes, TLS context and counters, shared by the server and its connections (a
/// connection may outlive the server object by the time it takes to close).
struct server_core {
  server_core(server_options o, router r) : opts(std::move(o)), routes(std::move(r)) {}

  std::string new_request_id();
  /// One line on stderr, prefixed with the server's name.
  void log(std::string_view line) const;

  const server_options opts;
  const router routes;
  std::unique_ptr<boost::asio::ssl::context> tls;
  std::uint64_t id_salt = 0;  ///< set once at start()

  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> refused_too_large{0};
  std::atomic<std::uint64_t> timed_out{0};
  std::atomic<std::uint64_t> next_id{0};
};

/// A response head: the status line and the header lines, CRLF-terminated, with the blank line.
/// Header lines whose name or value could break the head (control characters) are dropped.
std::string response_head(unsigned status, unsigned version, const header_list& headers);

/// One accepted connection. Every member runs on the connection's executor (its strand).
class connection : public std::enable_shared_from_this<connection> {
 public:
  using clock = std::chrono::steady_clock;

  connection(std::shared_ptr<server_core> core, boost::asio::ip::tcp::socket socket);

  /// The session and its watchdog; returns when the connection is closed.
  boost::asio::awaitable<void> run();

  /// The server stops: close now if waiting for a request, else after the current one.
  void stop();
  /// Close now (pending reads and writes end, until_peer_gone completes).
  void close_now();

  boost::asio::any_io_executor get_executor() { return timer_.get_executor(); }
  const server_core& core() const { return *core_; }
  bool stopping() const { return stopping_; }
  bool closed() const { return closed_; }
  bool peer_gone() const { return closed_ || write_failed_ || peer_gone_; }

  /// Writes every byte (empty buffers are skipped) within the write timeout. False (and the
  /// connection is marked broken) on failure.
  boost::asio::awaitable<bool> write(std::array<boost::asio::const_buffer, 3> bufs);
  /// Completes when the peer closes or resets, the connection closes, or the server stops.
  boost::asio::awaitable<void> until_peer_gone();
  /// Closes with RST.
  void reset();
  boost::asio::ip::tcp::endpoint remote_endpoint() const { return remote_; }

 private:
  enum class step { next, close, linger_close };
  using read_result = std::tuple<boost::system::error_code, std::size_t>;

  boost::asio::ip::tcp::socket& lowest() { return tls_ ? tls_->next_layer() : socket_; }
  boost::asio::awaitable<read_result> read_some(boost::asio::mutable_buffer b);
  boost::asio::awaitable<void> serve();
  boost::asio::awaitable<step> serve_one(std::size_t served);
  boost::asio::awaitable<void> watchdog();
  /// Reads into the capped buffer; false on a read error (see expired_).
  boost::asio::awaitable<bool> fill();
  /// The server layer's own reply (400, 408, 413, 414, 431), then a lingering close.
  boost::asio::awaitable<step> refuse(unsigned status, unsigned version, std::string_view message,
                                      std::string_view code);
  boost::asio::awaitable<void> close_gracefully(bool linger);

  void arm(std::chrono::milliseconds d);
  void disarm() { deadline_ = clock::time_point::max(); }

  std::shared_ptr<server_core> core_;
  boost::asio::ip::tcp::socket socket_;  // the transport, unless moved into tls_
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
  boost::asio::ip::tcp::endpoint remote_;
  boost::asio::steady_timer timer_;  // the one deadline of this connection
  clock::time_point deadline_ = clock::time_point::max();
  boost::beast::flat_buffer buffer_;  // capped: an endless line is an error, not a growth
  bool expired_ = false;              // the watchdog cut the operation in progress
  bool idle_ = false;                 // waiting for a request's first byte
  bool stopping_ = false;
  bool closed_ = false;
  bool write_failed_ = false;
  bool peer_gone_ = false;
  bool watching_peer_ = false;
};

}  // namespace conclave::http::detail
