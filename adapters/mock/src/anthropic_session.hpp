// One Anthropic Messages request on a connection (POST .../messages): headers, the request,
// the fault its model names, and the reply as JSON or SSE events.
#pragma once

#include "responder.hpp"
#include "server_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

namespace conclave::mock::detail {

/// Answers `req` on `s` (`lowest` is its TCP socket, for resets and hangs). Instantiated for
/// plain TCP and TLS streams.
template <typename Stream>
boost::asio::awaitable<next> answer_messages(server_state& st, Stream& s,
                                             boost::asio::ip::tcp::socket& lowest,
                                             const request_t& req);

extern template boost::asio::awaitable<next> answer_messages(server_state&,
                                                             boost::asio::ip::tcp::socket&,
                                                             boost::asio::ip::tcp::socket&,
                                                             const request_t&);
extern template boost::asio::awaitable<next> answer_messages(
    server_state&, boost::asio::ssl::stream<boost::asio::ip::tcp::socket>&,
    boost::asio::ip::tcp::socket&, const request_t&);

}  // namespace conclave::mock::detail
