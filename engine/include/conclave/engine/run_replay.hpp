// What a resumed run has already done, read back from its journaled events: the plan it ran,
// the agents that finished by their own cause, and what every other attempt spent. A run given
// one (ask_options::replay) replays those steps instead of calling the models again and runs
// only what is missing; the budget counts the recorded spend, so it still holds across a crash.
#pragma once

#include <conclave/engine/plan.hpp>
#include <conclave/engine/report.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace conclave {

struct recorded_run {
  std::optional<plan> plan_ran;  ///< from `decomposed`; none: the run decomposes again
  run_report decomposition;      ///< the plan part `decomposed` carried (tokens, note, model)
  /// Agents whose last event was completed, failed, timed_out or stopped (their own cause),
  /// by subtask id; a cancelled or skipped agent runs again.
  std::map<std::string, agent_report, std::less<>> finished;
  /// Failed attempts (`retrying`) of agents not finished: (model as routed, tokens).
  std::vector<std::pair<std::string, usage>> other_spend;
};

/// Reads journaled event lines (event::to_json_line's format, in the order written). Returns
/// none and says why for a line that is not an event (a corrupt journal is refused, never
/// half-replayed).
std::optional<recorded_run> read_recorded_run(const std::vector<std::string>& lines,
                                              std::string& why);

/// The tokens a recorded run has spent already: the decomposition, the finished agents and
/// the other attempts.
usage recorded_spend(const recorded_run& r);

}  // namespace conclave
