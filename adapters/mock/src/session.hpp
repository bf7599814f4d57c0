// The mock's handlers on the HTTP server, one per route: the OpenAI chat completions, the
// models list, the counters, and what a path no route takes gets. Each answers per scenario
// (see scenario.hpp) and says how the connection goes on.
#pragma once

#include "responder.hpp"
#include "server_state.hpp"

#include <conclave/http/server.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>

namespace conclave::mock::detail {

/// POST .../chat/completions.
boost::asio::awaitable<next> answer_completions(server_state& st, http::exchange& ex);
/// GET .../models.
boost::asio::awaitable<next> answer_models(http::exchange& ex);
/// GET .../stats.
boost::asio::awaitable<next> answer_stats(server_state& st, http::exchange& ex,
                                          std::uint64_t connections_accepted);
/// A path no route takes (404), or a known path with another method (405).
boost::asio::awaitable<next> answer_unrouted(http::exchange& ex, unsigned status);

}  // namespace conclave::mock::detail
