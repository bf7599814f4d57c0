// One turn's model call of an agent: retried per the retry policy and the run's retry budget,
// moved down the fallback chain when a model fails for good; and the refusals an agent is
// given when the run's budget or a stop forbids a call.
#pragma once

#include "jitter.hpp"
#include "run_context.hpp"

#include <conclave/engine/call_machine.hpp>

#include <optional>
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

/// The decisions of one turn's model call (turn `turn`, 1-based, ending by `deadline`): which
/// model each attempt asks and what each reply means; the agent's loop sends and waits. Records
/// what it learns in the agent's entry `rep` as it goes (attempts, tokens, models tried, the
/// error), so a cut call still leaves its tokens and times behind. `earlier_failure`: the last
/// failed attempt in a few words, for a report whose final word is a deadline or a cancel.
/// On destruction, `position` is where the call ended: the next turn starts there.
class model_turn {
 public:
  model_turn(run_context& ctx, agent_report& rep, int turn, clock::time_point deadline,
             model_position& position, std::string& earlier_failure);
  model_turn(const model_turn&) = delete;
  model_turn& operator=(const model_turn&) = delete;
  ~model_turn();

  /// The model the next attempt asks, its `started` event emitted; nullopt when no attempt
  /// may start (the budget is spent, the run stopped, the attempts are used up): `rep` says why.
  std::optional<std::string> next_attempt();

  enum class verdict {
    answered,  ///< the reply is the turn's answer
    failed,    ///< the call ended without one: `rep` says why
    retry,     ///< wait `delay`, then next_attempt()
  };
  struct outcome {
    verdict what = verdict::failed;
    clock::duration delay{};
  };
  /// An attempt's reply: its spend charged and recorded, its error kept in `rep`.
  /// `delivered`: part of its stream reached a consumer (then it is never retried).
  outcome on_reply(const boost::system::error_code& ec, chat_response& response, bool delivered);

 private:
  run_context& ctx_;
  agent_report& rep_;
  int turn_;
  model_position& position_;
  std::string& earlier_failure_;
  call_machine call_;
  std::vector<std::string> tried_before_;  // the models earlier turns asked
  jitter_rng rng_;
  std::string asked_;  // the current attempt's model
};

}  // namespace conclave::detail
