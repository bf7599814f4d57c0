// One client request as an operation: a pooled connection (or a new one), the exchange, and
// one replay on a fresh connection when a kept-alive one turns out closed. Internal to
// adapters/http.
#pragma once

#include "client_core.hpp"

#include <conclave/http/client.hpp>

#include <boost/asio/any_completion_handler.hpp>

#include <string>

namespace conclave::http::detail {

/// Sends `head` (request_head.hpp's, of a checked request) and `body` on `ex` and completes
/// `handler` there, as client::async_stream says. `core` and `where` outlive it.
void start_call(client_core& core, boost::asio::any_io_executor ex, const origin& where,
                std::string head, std::string body, client::clock::time_point deadline,
                body_sink sink, head_check check,
                boost::asio::any_completion_handler<client::stream_signature> handler);

}  // namespace conclave::http::detail
