// One Anthropic Messages request (POST .../messages): headers, the request, the fault its
// model names, and the reply as JSON or SSE events.
#pragma once

#include "responder.hpp"
#include "server_state.hpp"

#include <conclave/http/server.hpp>

#include <boost/asio/awaitable.hpp>

namespace conclave::mock::detail {

/// Answers the exchange's request; any method but POST gets Anthropic's 405.
boost::asio::awaitable<next> answer_messages(server_state& st, http::exchange& ex);

}  // namespace conclave::mock::detail
