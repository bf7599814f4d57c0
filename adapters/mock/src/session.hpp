// One accepted connection of the mock server: reads requests, answers them per scenario.
#pragma once

#include "server_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>

namespace conclave::mock::detail {

/// Lets the server close a connection from outside (stop()): touched only on the
/// connection's own strand.
struct connection_handle {
  boost::asio::ip::tcp::socket* socket = nullptr;
  bool closed = false;
};

/// Serves `socket` until the peer closes, a fault ends it, or the server stops it through
/// `handle`. Runs on the socket's executor (its own strand). `tls` null: plain HTTP.
boost::asio::awaitable<void> serve_connection(std::shared_ptr<server_state> state,
                                              boost::asio::ip::tcp::socket socket,
                                              boost::asio::ssl::context* tls,
                                              std::shared_ptr<connection_handle> handle);

}  // namespace conclave::mock::detail
