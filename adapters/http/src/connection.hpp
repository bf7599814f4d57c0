// One kept-alive HTTP/1.1 connection, plain or TLS. Internal to the client and its pool.
#pragma once

#include <conclave/http/origin.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstddef>
#include <variant>

namespace conclave::http::detail {

using tcp_socket = boost::asio::ip::tcp::socket;
using tls_socket = boost::asio::ssl::stream<tcp_socket>;

struct connection {
  connection(origin o, tcp_socket s) : where(std::move(o)), stream(std::move(s)) { reserve(); }
  connection(origin o, tls_socket s) : where(std::move(o)), stream(std::move(s)) { reserve(); }

  // Room for a typical reply head and body in one read: Beast's first read takes 512 bytes,
  // so a reply of 600 bytes cost a second recv and a reallocation (the buffer grew to 1 KiB
  // anyway, so holding 1 KiB from the start costs no memory).
  void reserve() { buffer.reserve(1024); }

  origin where;
  std::variant<tcp_socket, tls_socket> stream;
  boost::beast::flat_buffer buffer;  // bytes read past one response stay for the next
  std::chrono::steady_clock::time_point idle_since{};
  std::size_t requests_served = 0;
};

}  // namespace conclave::http::detail
