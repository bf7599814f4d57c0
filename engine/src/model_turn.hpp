// One turn's model call of an agent: retried per the retry policy and the run's retry budget,
// moved down the fallback chain when a model fails for good; and the refusals an agent is
// given when the run's budget or a stop forbids a call.
#pragma once

#include "run_context.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <vector>

namespace conclave::detail {

/// Which model an agent is on and which fallbacks it has left: a later turn starts where the
/// last one ended, so a model that failed for good is not tried again next turn.
struct model_position {
  std::string model;
  std::vector<std::string> fallbacks;
};

/// Marks an agent that may not call because the run's budget is spent.
void refuse_for_budget(run_context& ctx, agent_report& rep);

/// Marks an agent that may not call because an earlier failure stopped the run (auth).
void refuse_for_stopped_run(run_context& ctx, agent_report& rep);

/// The model call of turn `turn` (1-based), which ends by `deadline`: `base` (the agent's
/// settings and tools; its messages are not read) with `conversation` (the agent's own), both
/// unchanged while the call runs; each attempt sends a copy the model consumes, so no request
/// waits in a frame for the reply. `tools_allowed` false: the model must answer now. Records what
/// it learns in the agent's entry `rep` as it goes (attempts, tokens, models tried, the error), so
/// a cut call still leaves its tokens and times behind; `position` is where the next turn starts.
/// True with the reply in `reply` (the caller's: returned by value it sat in this frame too); false
/// when the call failed or was refused, and `rep` says why. `earlier_failure`: the last failed
/// attempt in a few words, for a report whose final word is a deadline or a cancel.
boost::asio::awaitable<bool> model_turn(std::shared_ptr<run_context> ctx, agent_report& rep,
                                        const chat_request& base, bool tools_allowed,
                                        const std::vector<chat_message>& conversation, int turn,
                                        clock::time_point deadline, model_position& position,
                                        std::string& earlier_failure, chat_response& reply);

}  // namespace conclave::detail
