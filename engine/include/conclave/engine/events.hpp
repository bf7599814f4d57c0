// One event stream per run, and the run is a fold of it: the report (report_fold.hpp) and the
// progress map (progress.hpp) are both built from these events alone. Agent events come in
// order per agent: queued, started, progress*, retrying*, tool_call_started /
// tool_call_finished (between turns), then one of completed / failed / timed_out / cancelled /
// stopped / skipped, which carries the agent's report; with the verify stage, `judged` (and, for
// an answer that failed, a revision: started ... completed again). Run events: decomposed (the
// plan), synthesis_started, combined (the answer), finished (the totals). Every observer (live
// view, JSONL, journal, host callback) sees the same stream.
#pragma once

#include <conclave/engine/chat.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace conclave {

enum class event_kind {
  queued,              ///< agent created; text: its sub-question; count: its turn limit
  started,             ///< the agent called the model; attempt (over the agent), turn, model
  progress,            ///< streamed text arrived; text: the delta
  retrying,            ///< the call failed and will be tried again; text: why; attempt
  tool_call_started,   ///< a tool call began; tool, turn, bytes: of its arguments
  tool_call_finished,  ///< a tool call ended; tool, turn, bytes: of its result, duration,
                       ///< text: the error (empty when it went well)
  stopped,             ///< the agent's loop hit a limit (turns, tool calls, a stall); text:
                       ///< which; the partial answer is kept; tokens spent
  completed,           ///< agent answered; tokens
  failed,              ///< agent gave up; text: the error; tokens spent
  timed_out,           ///< agent's or the run's deadline struck; tokens spent
  cancelled,           ///< the run was cancelled; tokens spent
  skipped,             ///< never ran: a dependency failed, or the run ended first; text: why
  judged,              ///< verify: the judge graded the agent's answer; text: the verdict
  decomposed,          ///< the plan is known; count: subtasks; text: a note on fallback, if any
  synthesis_started,   ///< combining began; count: decisions going in; text: the mode
  combined,            ///< the answer is known (synthesized, voted or selected)
  budget_exhausted,    ///< the run's token or cost cap was reached; text: which; tokens: spent
  finished,            ///< the run is over; text: outcome; tokens: the run's total
};

/// The agent's last event (completed, failed, timed_out, cancelled, stopped, skipped).
bool is_terminal(event_kind k) noexcept;

const char* to_string(event_kind k) noexcept;

struct agent_report;
struct run_report;
struct plan;

struct event {
  event_kind kind = event_kind::queued;
  std::optional<std::size_t> agent;  ///< set on agent events: the sub-question's index
  std::chrono::microseconds at{0};   ///< since the run started
  std::string text;
  usage tokens;
  int attempt = 0;
  std::size_t count = 0;
  /// On `completed`: why the model stopped (length: the answer is truncated; content_filter:
  /// refused or cut by the provider's filter).
  stop_reason stop = stop_reason::unknown;
  int turn = 0;                           ///< on agent events of a loop: the turn (from 1)
  std::string tool;                       ///< on tool events: the tool's name
  std::size_t bytes = 0;                  ///< on tool events: arguments / result size
  std::chrono::microseconds duration{0};  ///< on tool_call_finished: how long it ran
  /// On `started`: the model called, as the engine's model names it ("provider:model"
  /// through a router_model); empty: unnamed (the provider's default).
  std::string model;
  /// On tool_call_finished of a tool that writes: the resource it wrote (a path); `held`: the
  /// agent's subtask declared it exclusive.
  std::string resource;
  bool held = false;
  /// On an agent's last event and on `judged`: the agent's report as it now stands.
  std::shared_ptr<const agent_report> report;
  /// On decomposed / combined / finished: the run-level part of the report it completes (the
  /// plan, the answer, the totals); its agents are empty.
  std::shared_ptr<const run_report> run;
  /// On decomposed: the whole plan the run executes (ids, dependencies, resources), so a
  /// journal can resume it without asking the decomposer again.
  std::shared_ptr<const plan> full_plan;
};

/// The event as one line of JSON (no trailing newline), for `--events jsonl` and journals;
/// the payloads as the report's parts, so the lines rebuild the report (report_fold.hpp).
std::string to_json_line(const event& e);

class progress_map;

/// Called on the run's strand, in order, with the event and the progress map after it.
/// Keep it quick: the run's bookkeeping waits for it. An observer that throws is not called
/// again (run_report::observer_note says so); the run goes on.
using observer = std::function<void(const event&, const progress_map&)>;

}  // namespace conclave
