// What a run did: one entry per sub-question (never silently missing), the answer, and the
// accounting (latency, queueing, attempts, tokens, wall time, parallel speedup).
#pragma once

#include <conclave/engine/chat.hpp>

#include <boost/json/fwd.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace conclave {

/// ok: answered. max_turns / stalled: the loop hit a limit (turns or tool calls / the same call
/// again and again); `answer` then holds what the agent said so far (a partial answer, maybe
/// empty), and synthesis is told it is partial. skipped: never ran, because a subtask it
/// depends on failed (diag.message says which) or the run ended before it could start.
enum class agent_status { ok, failed, timed_out, cancelled, max_turns, stalled, skipped };

/// Whether the status keeps an answer for synthesis: ok, or a partial one (max_turns, stalled).
bool has_answer(agent_status s) noexcept;

const char* to_string(agent_status s) noexcept;

/// How a completed answer is marked for people and for synthesis: "truncated" (stop length),
/// "refused" (content_filter), or empty for a whole answer.
const char* answer_mark(stop_reason s) noexcept;

/// One tool call an agent made.
struct tool_call_record {
  std::string name;
  int turn = 0;                           ///< the turn that asked for it (from 1)
  std::chrono::microseconds duration{0};  ///< running it (0: refused without running)
  /// "ok", "error" (the tool said so), "refused" (unknown tool or bad arguments: not run),
  /// "timed_out", "failed" (the tool itself failed) or "cancelled".
  std::string outcome = "ok";
  std::size_t arguments_bytes = 0;
  std::size_t result_bytes = 0;  ///< as sent back to the model (after the size cap)
  std::string error;             ///< the error text, for anything but ok
  /// For a tool that writes (tool_spec::writes): the resource its call named (a path), else
  /// empty; `resource_held`: the agent's subtask declared it exclusive, so no other writer ran
  /// beside it.
  std::string resource;
  bool resource_held = false;
};

/// Two or more agents wrote the same resource, and not every write held it exclusively.
struct write_conflict {
  std::string resource;
  std::vector<std::size_t> agents;  ///< indices, in the order they first wrote it
};

/// One distinct short answer of a vote and the agents that gave it.
struct vote_option {
  std::string answer;               ///< as first written
  std::vector<std::size_t> agents;  ///< indices
};

struct agent_report {
  std::size_t index = 0;
  std::string id;  ///< the subtask's id in the plan ("s1"... when the decomposer named none)
  std::string sub_question;
  std::vector<std::string> depends_on;  ///< ids of the subtasks whose decisions it was given
  agent_status status = agent_status::cancelled;
  boost::system::error_code error;  ///< why it is not ok
  diagnostics diag;                 ///< context of the last failure
  std::string answer;               ///< the decision (ok only)
  /// Why the model stopped: `length` marks a truncated answer, `content_filter` a refused or
  /// filtered one (the status is still ok when some answer came; an empty answer fails).
  stop_reason stop = stop_reason::unknown;
  std::string model;  ///< which model answered, as the provider names it
  /// The model asked last (the one that answered, when one did), as the engine's model names
  /// it: "provider:model" through a router_model (model::describe_model); empty: unnamed.
  std::string model_ref;
  std::vector<std::string> models_tried;  ///< requested model names in order, fallbacks included
  std::chrono::microseconds queued{0};    ///< waiting for a concurrency slot
  std::chrono::microseconds latency{0};   ///< calling the model (all attempts)
  int attempts = 0;                       ///< model calls made (0: never started)
  bool replayed = false;  ///< a resumed run took it from the journal: no model was called again
  usage tokens;           ///< spent, including on failed, cut and cancelled calls
  int turns = 0;          ///< turns of the loop that got a reply
  std::vector<usage> turn_tokens;            ///< tokens per turn, retries included
  std::vector<tool_call_record> tool_calls;  ///< in the order they were asked for
  std::chrono::microseconds tool_time{0};    ///< running tools (turns' wall, not summed)
  /// With the verify stage: the judge's last verdict ("pass", "needs_improvement", "fail";
  /// empty: not judged), its critique, and how many times the agent revised its answer.
  std::string verdict;
  std::string critique;
  int revisions = 0;
};

/// What a run asked of one model: calls (attempts) and the tokens they spent.
struct model_spend {
  int calls = 0;
  usage tokens;
};

struct run_report {
  std::string question;
  std::vector<std::string> sub_questions;
  bool decomposition_fallback = false;  ///< decomposition failed: one agent on the question
  std::string decomposition_note;       ///< why, when it fell back

  std::vector<agent_report> agents;  ///< one per sub-question, in order

  std::string answer;                     ///< the synthesized answer (or the degraded fallback)
  bool degraded = false;                  ///< some decisions are missing, or synthesis failed
  std::string synthesis_note;             ///< what is missing or what went wrong in synthesis
  std::size_t synthesis_input_chars = 0;  ///< size of what synthesis was sent

  /// How the decisions became the answer: "synthesize", "vote" or "select"; `combine_note`
  /// says how it went ("3 of 4 agents answered ...", "tie between ...", "selected agent 2").
  std::string combine = "synthesize";
  std::string combine_note;
  std::vector<vote_option> votes;         ///< vote: every distinct answer, most votes first
  bool vote_tie = false;                  ///< vote: the top count was shared
  std::optional<std::size_t> selected;    ///< select: the agent whose answer was chosen
  int verify_rounds = 0;                  ///< verify: judge rounds run (0: no verify stage)
  std::vector<write_conflict> conflicts;  ///< resources written by more than one agent

  std::string decomposition_model;      ///< the model that decomposed, as the provider names it
  std::string synthesis_model;          ///< the model that synthesized, as the provider names it
  std::string decomposition_model_ref;  ///< the one asked to decompose, like agent model_ref
  std::string synthesis_model_ref;      ///< the one asked to synthesize, like agent model_ref
  std::string stop_note;  ///< when a failure stopped the whole run (auth): what the provider said
  std::string observer_note;  ///< observers that threw (each dropped after its first throw)
  bool planned = false;       ///< the subtasks came from a plan file, not the decomposer

  usage decomposition_tokens;
  /// The combine stage's calls: the verify stage's judges, the selection, the synthesis
  /// (revisions are their agents' own calls).
  usage synthesis_tokens;
  /// Calls and tokens per model as routed ("provider:model", from model::describe_model;
  /// "(default)" for a model's unnamed default), every phase and every attempt included
  /// (failed and retried calls too): what each provider was asked for, fallbacks included.
  std::map<std::string, model_spend, std::less<>> by_model;
  int decomposition_attempts = 0;  ///< model calls made to decompose (0: not needed)
  int synthesis_attempts = 0;      ///< the combine stage's calls (judges, selection, synthesis)

  bool budget_exhausted = false;  ///< the run's token or cost cap was reached
  std::string budget_note;        ///< which cap, and what it stopped
  double cost = 0;                ///< by the budget's price table (0 without one)
  bool priced = false;            ///< a price table was given, so `cost` means something

  std::chrono::microseconds wall{0};            ///< the whole run
  std::chrono::microseconds fan_out_wall{0};    ///< from the first agent queued to the last done
  std::chrono::microseconds agent_time_sum{0};  ///< sum of the agents' model-call times

  usage total_tokens() const noexcept;
  /// Parallel speedup of the fan-out: agent_time_sum / fan_out_wall (0 with no agents).
  double speedup() const noexcept;
  std::size_t count(agent_status s) const noexcept;
  /// Agents whose answer goes to synthesis: ok, or a partial answer that is not empty.
  std::size_t answered() const noexcept;
};

/// Bumped when a field of the JSON report or events changes meaning or goes away.
inline constexpr int report_schema_version = 1;

/// The run report as JSON (see apps/conclave/report.schema.json): agents numbered from 1 as on
/// screen, tokens as input_tokens / output_tokens / total_tokens, absent values as null.
/// It is the union of the parts below, which the run's events carry one at a time.
boost::json::object to_json(const run_report& r);

/// {"input_tokens", "output_tokens", "total_tokens"}, and the cache counts when not zero.
boost::json::object to_json(const usage& u);

/// The parts of the report, as the events that complete them carry them (see report_fold.hpp):
/// the plan (on `decomposed`), one agent (on its last event), the combined answer (on
/// `combined`) and the totals (on `finished`). Each reader fills only its own fields and
/// returns false, saying why, on JSON that is not a part it wrote.
boost::json::object plan_part_json(const run_report& r);
boost::json::object agent_json(const agent_report& a);
boost::json::object combine_part_json(const run_report& r);
boost::json::object totals_part_json(const run_report& r);
bool read_plan_part(const boost::json::object& o, run_report& r, std::string& why);
bool read_agent(const boost::json::object& o, agent_report& a, std::string& why);
bool read_combine_part(const boost::json::object& o, run_report& r, std::string& why);
bool read_totals_part(const boost::json::object& o, run_report& r, std::string& why);

}  // namespace conclave
