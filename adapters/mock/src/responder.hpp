// One request's replies on a connection: a whole response, or a stream of chunks, with the
// headers every reply of the request carries; and the ways a fault ends the connection.
#pragma once

#include "server_state.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <string>
#include <utility>
#include <vector>

namespace conclave::mock::detail {

namespace bhttp = boost::beast::http;
using boost::asio::ip::tcp;

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

using request_t = bhttp::request<bhttp::string_body>;

// How a connection goes on after a reply.
enum class next { keep_alive, close, abort };

inline boost::asio::awaitable<void> pause(std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  co_await t.async_wait(use_tuple);
}

inline void reset_connection(tcp::socket& s) {
  boost::system::error_code ec;
  s.set_option(boost::asio::socket_base::linger(true, 0), ec);  // close with RST, not FIN
  s.close(ec);
}

template <typename Stream>
class responder {
 public:
  responder(server_state& st, Stream& s, tcp::socket& lowest, const request_t& req)
      : st_(st),
        s_(s),
        lowest_(lowest),
        keep_alive_(req.keep_alive()),
        version_(req.version()),
        request_id_(st.next_request_id()) {}

  using header_list = std::vector<std::pair<std::string, std::string>>;

  boost::asio::awaitable<next> json(unsigned status, std::string body,
                                    header_list extra = header_list()) {
    return send(status, "application/json", std::move(body), std::move(extra));
  }

  boost::asio::awaitable<next> send(unsigned status, std::string content_type, std::string body,
                                    header_list extra = header_list()) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), version_};
    if (status == 529) res.reason("Overloaded");  // not a registered status: Beast has no word
    res.set(bhttp::field::content_type, content_type);
    res.set("x-request-id", request_id_);
    for (const auto& [name, value] : common_) res.set(name, value);
    for (const auto& [name, value] : extra) res.set(name, value);
    res.body() = std::move(body);
    res.keep_alive(keep_alive_);
    res.prepare_payload();
    auto [ec, n] = co_await bhttp::async_write(s_, res, use_tuple);
    co_return ec ? next::abort : after_reply();
  }

  boost::asio::awaitable<bool> start_stream() {
    bhttp::response<bhttp::empty_body> res{bhttp::status::ok, version_};
    res.set(bhttp::field::content_type, "text/event-stream; charset=utf-8");
    res.set(bhttp::field::cache_control, "no-cache");
    res.set("x-request-id", request_id_);
    for (const auto& [name, value] : common_) res.set(name, value);
    res.keep_alive(keep_alive_);
    res.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    auto [ec, n] = co_await bhttp::async_write_header(s_, sr, use_tuple);
    co_return !ec;
  }

  boost::asio::awaitable<bool> chunk(std::string_view data) {
    auto [ec, n] = co_await boost::asio::async_write(
        s_, bhttp::make_chunk(boost::asio::buffer(data)), use_tuple);
    co_return !ec;
  }

  boost::asio::awaitable<next> end_stream() {
    auto [ec, n] = co_await boost::asio::async_write(s_, bhttp::make_chunk_last(), use_tuple);
    co_return ec ? next::abort : after_reply();
  }

  // An interim response first, as CDNs send: the client must read past it.
  boost::asio::awaitable<bool> early_hints() {
    const std::string_view hints =
        "HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload; as=style\r\n\r\n";
    auto [ec, n] = co_await boost::asio::async_write(s_, boost::asio::buffer(hints), use_tuple);
    co_return !ec;
  }

  // A 200 JSON reply that breaks, written raw so its body can stop short or trickle:
  // `truncated` ends at half the announced length (FIN), `reset` there with RST, `drip` sends
  // every byte, one per `interval`.
  boost::asio::awaitable<next> broken_json(std::string body, fault f,
                                           std::chrono::milliseconds interval) {
    std::string head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-request-id: " + request_id_ +
        "\r\n";
    for (const auto& [name, value] : common_) head += name + ": " + value + "\r\n";
    head += "content-length: " + std::to_string(body.size()) + "\r\n\r\n";
    if (auto [ec, n] = co_await boost::asio::async_write(s_, boost::asio::buffer(head), use_tuple);
        ec) {
      co_return next::abort;
    }
    if (f == fault::drip) {
      for (char c : body) {
        auto [ec, n] = co_await boost::asio::async_write(s_, boost::asio::buffer(&c, 1), use_tuple);
        if (ec) co_return next::abort;
        co_await pause(interval);
      }
      co_return after_reply();
    }
    const std::string half = body.substr(0, body.size() / 2);
    co_await boost::asio::async_write(s_, boost::asio::buffer(half), use_tuple);
    if (f == fault::reset) co_return co_await reset();
    co_return next::close;  // truncated: FIN before content-length is reached
  }

  // A complete reply went out: the connection goes on unless the client asked to close.
  next after_reply() const { return keep_alive_ ? next::keep_alive : next::close; }

  // Waits until the peer goes away (or the server closes us): the "hang" fault.
  boost::asio::awaitable<next> hang() {
    std::array<char, 256> scratch;  // GCC 12 rejects C arrays in coroutine frames
    for (;;) {
      auto [ec, n] = co_await lowest_.async_read_some(boost::asio::buffer(scratch), use_tuple);
      if (ec) co_return next::abort;
    }
  }

  boost::asio::awaitable<next> reset() {
    reset_connection(lowest_);
    co_return next::abort;
  }

  const std::string& request_id() const { return request_id_; }
  /// Headers every reply of this request carries from now on (e.g. x-ratelimit-*).
  void add_common_header(std::string name, std::string value) {
    common_.emplace_back(std::move(name), std::move(value));
  }

 private:
  server_state& st_;
  Stream& s_;
  tcp::socket& lowest_;
  bool keep_alive_;
  unsigned version_;
  std::string request_id_;
  header_list common_;
};

}  // namespace conclave::mock::detail
