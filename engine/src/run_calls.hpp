// Run-level model calls (decomposition, judges, selection, synthesis): retried per the policy
// and the run's shared retry budget, charged to the run, cut off at a deadline.
#pragma once

#include "run_context.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <tuple>
#include <vector>

namespace conclave::detail {

/// What a run-level call spent: tokens of every attempt (cut ones included) and the attempts.
struct call_cost {
  usage tokens;
  int attempts = 0;
};

/// Makes a call's messages for one attempt. A model consumes the request it is given, so an
/// attempt is sent a copy of the kept messages; a maker makes them anew instead, and a prompt
/// of thousands of decisions is held once during its call rather than twice.
using messages_maker = std::function<std::vector<chat_message>()>;

/// A maker whose first call hands over `first` and whose later calls make `again`'s, or, when
/// `again` is empty, copies of `first` kept for them.
messages_maker first_then(std::vector<chat_message> first, messages_maker again = {});

/// One model call, retried until it succeeds, gives up, `deadline` passes (then
/// error::timeout), the budget is spent or a failure stopped the run. `on_delta` (may be empty)
/// sees streamed text; once some arrived, the call is not tried again. `spent` is everything
/// spent, a cut attempt included.
boost::asio::awaitable<std::tuple<boost::system::error_code, chat_response>> call_before(
    std::shared_ptr<run_context> ctx, model& m, chat_request req, clock::time_point deadline,
    call_cost& spent, delta_handler on_delta = {});

/// As above, each attempt's messages from `make` (`settings`' own messages are not sent).
boost::asio::awaitable<std::tuple<boost::system::error_code, chat_response>> call_before(
    std::shared_ptr<run_context> ctx, model& m, chat_request settings, messages_maker make,
    clock::time_point deadline, call_cost& spent, delta_handler on_delta = {});

}  // namespace conclave::detail
