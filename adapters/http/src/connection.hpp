// One kept-alive HTTP/1.1 connection, plain or TLS. Internal to the client and its pool.
#pragma once

#include <conclave/http/origin.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <variant>

namespace conclave::http::detail {

using tcp_socket = boost::asio::ip::tcp::socket;
using tls_socket = boost::asio::ssl::stream<tcp_socket>;

struct connection {
  connection(origin o, tcp_socket s) : where(std::move(o)), stream(std::move(s)) {}
  connection(origin o, tls_socket s)
      : where(std::move(o)), stream(std::make_unique<tls_socket>(std::move(s))) {}

  /// Calls `f` with the connection's stream: the plain socket or the TLS stream.
  template <typename F>
  decltype(auto) visit(F&& f) {
    return std::visit(
        [&](auto& s) -> decltype(auto) {
          if constexpr (std::is_same_v<std::decay_t<decltype(s)>, std::unique_ptr<tls_socket>>) {
            return f(*s);
          } else {
            return f(s);
          }
        },
        stream);
  }

  // Room for a typical reply head and body in one read: Beast's first read takes 512 bytes,
  // so a reply of 600 bytes cost a second recv and a reallocation. Taken as the reply's head
  // is read (the client's parse_head): on a plain socket, once bytes are there.
  void make_room() { buffer.reserve(1024); }
  /// Frees the read buffer's storage when it holds nothing read ahead.
  void drop_room() noexcept {
    if (buffer.size() == 0) buffer.shrink_to_fit();
  }

  origin where;
  // A TLS stream is 440 bytes beside a socket's 88: held apart, so a plain connection (every
  // one of thousands in flight) does not carry its room.
  std::variant<tcp_socket, std::unique_ptr<tls_socket>> stream;
  // Bytes read past one response stay for the next. Freed between exchanges: an idle
  // connection holds no buffer, nor does a plain one waiting for its reply.
  boost::beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since{};
  std::size_t requests_served = 0;
};

}  // namespace conclave::http::detail
