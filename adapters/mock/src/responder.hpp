// One request's replies through the HTTP server's exchange: a whole response, or a stream of
// chunks, with the headers every reply of the request carries; and the ways a fault breaks
// the connection (raw bytes, a reset, a hang until the client leaves).
#pragma once

#include "server_state.hpp"

#include <conclave/http/server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <utility>
#include <vector>

namespace conclave::mock::detail {

namespace bhttp = boost::beast::http;

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

using request_t = http::incoming_request;

// How a connection goes on after a reply: as the client asked, closed after it, or already
// broken (reset, peer gone).
enum class next { keep_alive, close, abort };

inline boost::asio::awaitable<void> pause(std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  co_await t.async_wait(use_tuple);
}

class responder {
 public:
  explicit responder(http::exchange& ex) : ex_(ex) {}

  using header_list = http::header_list;

  boost::asio::awaitable<next> json(unsigned status, std::string body,
                                    header_list extra = header_list()) {
    return send(status, "application/json", std::move(body), std::move(extra));
  }

  boost::asio::awaitable<next> send(unsigned status, std::string content_type, std::string body,
                                    header_list extra = header_list()) {
    const bool ok =
        co_await ex_.respond(status, std::move(content_type), std::move(body), std::move(extra));
    co_return ok ? next::keep_alive : next::abort;
  }

  boost::asio::awaitable<bool> start_stream() {
    const std::string type = "text/event-stream; charset=utf-8";
    header_list none;
    co_return co_await ex_.start_stream(type, std::move(none), 200);
  }

  boost::asio::awaitable<bool> chunk(std::string_view data) { return ex_.write(data); }

  boost::asio::awaitable<next> end_stream() {
    co_return co_await ex_.end_stream() ? next::keep_alive : next::abort;
  }

  /// The stream ends cleanly (last chunk), then the connection closes.
  boost::asio::awaitable<next> end_stream_and_close() {
    ex_.close_after();
    co_return co_await ex_.end_stream() ? next::close : next::abort;
  }

  // An interim response first, as CDNs send: the client must read past it.
  boost::asio::awaitable<bool> early_hints() {
    static constexpr std::string_view hints =
        "HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload; as=style\r\n\r\n";
    return ex_.write_raw(hints);
  }

  // A 200 JSON reply that breaks, written raw so its body can stop short or trickle:
  // `truncated` ends at half the announced length (FIN), `reset` there with RST, `drip` sends
  // every byte, one per `interval`.
  boost::asio::awaitable<next> broken_json(std::string body, fault f,
                                           std::chrono::milliseconds interval) {
    std::string head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-request-id: " + request_id() +
        "\r\n";
    for (const auto& [name, value] : common_) head += name + ": " + value + "\r\n";
    head += "content-length: " + std::to_string(body.size()) + "\r\n\r\n";
    if (!co_await ex_.write_raw(head)) co_return next::abort;
    if (f == fault::drip) {
      for (char c : body) {
        if (!co_await ex_.write_raw(std::string_view(&c, 1))) co_return next::abort;
        co_await pause(interval);
      }
      ex_.mark_complete();
      co_return next::keep_alive;
    }
    const std::string half = body.substr(0, body.size() / 2);
    co_await ex_.write_raw(half);
    if (f == fault::reset) co_return co_await reset();
    co_return next::close;  // truncated: FIN before content-length is reached
  }

  // Waits until the peer goes away (or the server closes us): the "hang" fault.
  boost::asio::awaitable<next> hang() {
    co_await ex_.until_peer_gone();
    co_return next::abort;
  }

  boost::asio::awaitable<next> reset() {
    ex_.reset();
    co_return next::abort;
  }

  const std::string& request_id() const { return ex_.request_id(); }
  const request_t& request() const { return ex_.request(); }
  /// Headers every reply of this request carries from now on (e.g. x-ratelimit-*).
  void add_common_header(std::string name, std::string value) {
    common_.emplace_back(name, value);
    ex_.add_header(std::move(name), std::move(value));
  }

 private:
  http::exchange& ex_;
  header_list common_;  // for the raw replies, which the exchange does not head
};

}  // namespace conclave::mock::detail
