// One connection's session: TLS handshake, then requests read into a capped buffer with a
// parser limited in header and body size, framing checked by hand (Beast ignores a
// Transfer-Encoding it does not know and accepts chunked from HTTP/1.0), handlers called, and
// keep-alive decided. One steady_timer per connection carries the current deadline; a
// watchdog beside the session cancels the socket's operations when it passes.
#include "session.hpp"

#include "exchange_impl.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <cctype>
#include <limits>

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

namespace conclave::http::detail {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::deferred);  // no frame per wait (client.cpp)
constexpr std::size_t read_chunk = 16 * 1024;
constexpr std::chrono::milliseconds linger_limit{1000};  // after a refusal, drain this long
constexpr std::size_t linger_bytes = 1024 * 1024;        // or this much

std::string lower_trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Transfer-Encoding as the session accepts it: absent, or exactly one `chunked` from an
// HTTP/1.1 client with no Content-Length. Anything else could make this server and a proxy
// in front of it disagree on where the body ends (request smuggling).
bool framing_is_safe(const bhttp::request_parser<bhttp::string_body>& parser) {
  const auto& req = parser.get();
  const auto te = req.count(bhttp::field::transfer_encoding);
  if (te == 0) return true;
  if (te > 1 || req.version() < 11 || req.count(bhttp::field::content_length) > 0) return false;
  return lower_trimmed(req[bhttp::field::transfer_encoding]) == "chunked";
}

}  // namespace

connection::connection(std::shared_ptr<server_core> core, tcp::socket socket)
    : core_(std::move(core)),
      socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      buffer_(core_->opts.limits.max_header_bytes + 64 * 1024) {
  boost::system::error_code ec;
  remote_ = socket_.remote_endpoint(ec);
  timer_.expires_at(clock::time_point::max());
  if (core_->tls) {
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket_), *core_->tls);
  }
}

asio::awaitable<void> connection::run() {
  using namespace asio::experimental::awaitable_operators;
  co_await (serve() || watchdog());
}

void connection::arm(std::chrono::milliseconds d) {
  deadline_ = clock::now() + d;
  expired_ = false;
  // A later deadline is noticed when the timer wakes; an earlier one needs the timer moved
  // (which wakes the watchdog to wait again).
  if (deadline_ < timer_.expiry()) timer_.expires_at(deadline_);
}

asio::awaitable<void> connection::watchdog() {
  for (;;) {
    co_await timer_.async_wait(use_tuple);
    if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
      co_return;  // the session ended
    if (deadline_ <= clock::now()) {
      expired_ = true;
      deadline_ = clock::time_point::max();
      boost::system::error_code ignored;
      lowest().cancel(ignored);
    }
    timer_.expires_at(deadline_);
  }
}

asio::awaitable<connection::read_result> connection::read_some(asio::mutable_buffer b) {
  if (tls_) co_return co_await tls_->async_read_some(b, use_tuple);
  co_return co_await socket_.async_read_some(b, use_tuple);
}

asio::awaitable<bool> connection::write(std::array<asio::const_buffer, 3> bufs) {
  if (peer_gone()) co_return false;
  arm(core_->opts.limits.write_timeout);
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, bufs, use_tuple);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(socket_, bufs, use_tuple);
  }
  disarm();
  if (!ec) co_return true;
  write_failed_ = true;
  if (expired_) ++core_->timed_out;
  co_return false;
}

asio::awaitable<void> connection::until_peer_gone() {
  if (peer_gone()) co_return;
  watching_peer_ = true;
  std::array<char, 512> scratch{};
  for (;;) {
    auto [ec, n] = co_await read_some(asio::buffer(scratch));
    if (!ec) continue;
    // Cancelled: by the handler's own race (it goes on), the server's stop, or a write's
    // timeout (already counted as a failed write).
    if (ec != asio::error::operation_aborted) peer_gone_ = true;
    break;
  }
  watching_peer_ = false;
}

void connection::reset() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  lowest().set_option(asio::socket_base::linger(true, 0), ignored);  // RST, not FIN
  lowest().close(ignored);
}

void connection::stop() {
  stopping_ = true;
  boost::system::error_code ignored;
  // Only a connection waiting for its next request closes now; one whose handler watches for
  // the peer is answering a request (a long run), which the stop lets finish (close_all ends it).
  if (idle_) lowest().cancel(ignored);
}

void connection::close_now() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  lowest().shutdown(tcp::socket::shutdown_both, ignored);
  lowest().close(ignored);
}

asio::awaitable<void> connection::close_gracefully(bool linger) {
  if (closed_) co_return;
  boost::system::error_code ignored;
  if (linger && !write_failed_) {
    // Closing with unread bytes makes the kernel send RST, which can destroy the reply just
    // sent before the client reads it: say we are done, then drain what it still sends.
    lowest().shutdown(tcp::socket::shutdown_send, ignored);
    arm(std::min(linger_limit, core_->opts.limits.write_timeout));
    std::array<char, 4096> scratch{};
    for (std::size_t drained = 0; drained < linger_bytes && !closed_;) {
      auto [ec, n] = co_await lowest().async_read_some(asio::buffer(scratch), use_tuple);
      if (ec) break;
      drained += n;
    }
    disarm();
  }
  close_now();
}

asio::awaitable<void> connection::serve() {
  boost::system::error_code ignored;
  lowest().set_option(tcp::no_delay(true), ignored);
  bool ready = true;
  if (tls_) {
    arm(core_->opts.limits.header_timeout);
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, use_tuple);
    disarm();
    if (ec && expired_) ++core_->timed_out;
    ready = !ec;
  }
  step next = ready ? step::next : step::close;
  for (std::size_t served = 0; next == step::next && !stopping_ && !closed_; ++served) {
    next = co_await serve_one(served);
  }
  co_await close_gracefully(next == step::linger_close);
}

asio::awaitable<bool> connection::fill() {
  const std::size_t space = buffer_.max_size() - buffer_.size();
  auto [ec, n] = co_await read_some(buffer_.prepare(std::min(space, read_chunk)));
  buffer_.commit(n);
  co_return !ec;
}

asio::awaitable<connection::step> connection::refuse(unsigned status, unsigned version,
                                                     std::string_view message,
                                                     std::string_view code) {
  if (status == 413 || status == 414 || status == 431) ++core_->refused_too_large;
  const std::string body = error_body(message, "invalid_request_error", code);
  const header_list h{{"content-type", "application/json"},
                      {"content-length", std::to_string(body.size())},
                      {"x-request-id", core_->new_request_id()},
                      {"connection", "close"}};
  const std::string head = response_head(status, version >= 11 ? 11 : 10, h);
  std::array<asio::const_buffer, 3> bufs{asio::buffer(head), asio::buffer(body),
                                         asio::const_buffer()};
  co_await write(bufs);
  co_return step::linger_close;
}

asio::awaitable<connection::step> connection::serve_one(std::size_t served) {
  const auto& lim = core_->opts.limits;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(lim.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser.body_limit(lim.max_body_bytes);

  // The header. The first request's clock starts at the accept; a later one's at its first
  // byte, after an idle wait of its own.
  idle_ = buffer_.size() == 0;
  arm(idle_ && served > 0 ? lim.idle_timeout : lim.header_timeout);
  bool saw_bytes = !idle_;
  for (;;) {
    if (buffer_.size() > 0) {
      if (idle_) {
        idle_ = false;
        saw_bytes = true;
        arm(lim.header_timeout);
      }
      boost::system::error_code ec;
      buffer_.consume(parser.put(buffer_.data(), ec));
      if (ec == bhttp::error::header_limit) {
        disarm();
        // A request line alone over the limit (the parser never got past it) is a target
        // too long.
        if (parser.get().method_string().empty()) {
          co_return co_await refuse(414, 11, "The request target is too long.", "uri_too_long");
        }
        co_return co_await refuse(431, 11, "The request header is too large.",
                                  "request_header_fields_too_large");
      }
      if (ec == bhttp::error::body_limit) {
        disarm();
        co_return co_await refuse(413, parser.get().version(), "The request body is too large.",
                                  "request_too_large");
      }
      if (ec && ec != bhttp::error::need_more) {
        disarm();
        co_return co_await refuse(400, 11, "The request is not valid HTTP/1.1.", "bad_request");
      }
      if (parser.is_header_done()) break;
    }
    if (buffer_.size() == buffer_.max_size()) {  // below the parser's limit, yet no end
      disarm();
      co_return co_await refuse(431, 11, "The request header is too large.",
                                "request_header_fields_too_large");
    }
    if (!co_await fill()) {
      disarm();
      if (!expired_) co_return step::close;  // closed, reset, or the server stops
      ++core_->timed_out;
      if (!saw_bytes) co_return step::close;  // idle: close quietly
      co_return co_await refuse(408, 11, "The request header took too long.", "request_timeout");
    }
  }
  idle_ = false;
  ++core_->requests;

  const unsigned version = parser.get().version();
  if (!framing_is_safe(parser)) {
    disarm();
    co_return co_await refuse(400, version, "Unsupported Transfer-Encoding.", "bad_request");
  }
  if (const auto length = parser.content_length(); length && *length > lim.max_body_bytes) {
    disarm();
    co_return co_await refuse(413, version, "The request body is too large.", "request_too_large");
  }

  // The body, if any.
  if (!parser.is_done()) {
    if (lower_trimmed(parser.get()[bhttp::field::expect]) == "100-continue" && version >= 11) {
      static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      std::array<asio::const_buffer, 3> bufs{asio::buffer(go_on), asio::const_buffer(),
                                             asio::const_buffer()};
      if (!co_await write(bufs)) co_return step::close;
    }
    arm(lim.body_timeout);
    parser.eager(true);
    for (;;) {
      if (buffer_.size() > 0) {
        boost::system::error_code ec;
        buffer_.consume(parser.put(buffer_.data(), ec));
        if (ec == bhttp::error::body_limit) {
          disarm();
          co_return co_await refuse(413, version, "The request body is too large.",
                                    "request_too_large");
        }
        if (ec && ec != bhttp::error::need_more) {
          disarm();
          co_return co_await refuse(400, version, "The request body is malformed.", "bad_request");
        }
        if (parser.is_done()) break;
      }
      if (buffer_.size() == buffer_.max_size()) {  // a chunk line or trailer without end
        disarm();
        co_return co_await refuse(400, version, "A chunk header or trailer is too long.",
                                  "bad_request");
      }
      if (!co_await fill()) {
        disarm();
        if (!expired_) co_return step::close;
        ++core_->timed_out;
        co_return co_await refuse(408, version, "The request body took too long.",
                                  "request_timeout");
      }
    }
    disarm();
  }

  // The handler.
  const incoming_request req = parser.release();
  const std::string_view target = req.target();
  const auto q = target.find('?');
  std::string path(target.substr(0, q));
  std::string query(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
  auto found = core_->routes.match(req.method_string(), path);
  const std::size_t cap = lim.max_requests_per_connection;
  const bool at_cap = cap > 0 && served + 1 >= cap;
  const bool keep_alive = req.keep_alive() && (!at_cap || lim.quiet_request_cap);
  exchange_impl ex(*this, req, path, std::move(query), std::move(found.params),
                   core_->new_request_id(), keep_alive);
  bool failed = false;
  try {
    if (found.h) {
      co_await (*found.h)(ex);
    } else {
      if (found.status == 405) ex.add_header("allow", found.allow);
      if (const auto& fallback = core_->routes.fallback_handler()) {
        co_await fallback(ex, found.status);
      } else if (found.status == 405) {
        std::string body = error_body(
            "Method " + std::string(req.method_string()) + " is not allowed for " + path + ".",
            "invalid_request_error", "method_not_allowed");
        co_await ex.json(405, std::move(body));
      } else {
        std::string body =
            error_body("Unknown path " + path + ".", "invalid_request_error", "unknown_url");
        co_await ex.json(404, std::move(body));
      }
    }
  } catch (const std::exception& e) {
    failed = true;
    core_->log("handler for " + std::string(req.method_string()) + " " + path +
               " failed: " + e.what());
  } catch (...) {
    failed = true;
    core_->log("handler for " + std::string(req.method_string()) + " " + path +
               " failed with an unknown exception");
  }
  if (failed || closed_ || !ex.complete()) co_return step::close;
  if (ex.must_close() || at_cap || stopping_) co_return step::close;
  co_return step::next;
}

}  // namespace conclave::http::detail
