// The live picture of a run, built from its events. Pure: apply events, read the state.
// The engine keeps one on the run's strand and hands it to observers.
#pragma once

#include <conclave/engine/events.hpp>
#include <conclave/engine/report.hpp>

#include <map>
#include <string>
#include <vector>

namespace conclave {

/// stopped: the agent's loop hit a limit (turns, tool calls, a stall) and kept a partial answer.
/// skipped: never ran (a dependency failed, or the run ended before it could start).
enum class agent_state {
  queued,
  running,
  completed,
  failed,
  timed_out,
  cancelled,
  stopped,
  skipped
};

const char* to_string(agent_state s) noexcept;

struct agent_progress {
  std::string sub_question;
  agent_state state = agent_state::queued;
  std::chrono::microseconds queued_at{0};
  std::chrono::microseconds started_at{0};   ///< 0 until started
  std::chrono::microseconds finished_at{0};  ///< 0 until finished
  usage tokens;  ///< as reported at the end, else estimated from the stream
  int attempts = 0;
  std::size_t streamed_chars = 0;
  std::string detail;     ///< the error, for failed / timed out / cancelled; the limit, stopped
  int turn = 0;           ///< the turn the agent is on (from 1)
  int max_turns = 0;      ///< its limit (0: not known)
  int tool_calls = 0;     ///< tool calls started so far
  int tools_running = 0;  ///< tool calls running now
  std::string last_tool;  ///< the tool most recently started
  std::string model;      ///< the model of its latest call ("provider:model"; empty: unnamed)
  /// For a completed agent: length means its answer is truncated, content_filter refused.
  stop_reason stop = stop_reason::unknown;
  std::string verdict;  ///< verify: the judge's last verdict (empty: not judged)
};

/// Which agents wrote which resource (from tool_call_finished events): two agents writing one
/// resource is a conflict unless every write held it (declared exclusive in the plan).
class write_tracker {
 public:
  /// Records a write; true when it makes a new conflict or adds a writer to one.
  bool note(std::size_t agent, const std::string& resource, bool held);
  const std::vector<write_conflict>& conflicts() const noexcept { return conflicts_; }

 private:
  struct writers {
    std::vector<std::size_t> agents;
    bool unheld = false;
  };
  std::map<std::string, writers, std::less<>> writers_;
  std::vector<write_conflict> conflicts_;
};

enum class run_phase { decomposing, running, synthesizing, finished };

const char* to_string(run_phase p) noexcept;

class progress_map {
 public:
  void apply(const event& e);

  const std::vector<agent_progress>& agents() const noexcept { return agents_; }
  std::size_t count(agent_state s) const noexcept;
  run_phase phase() const noexcept { return phase_; }
  /// Tokens of every finished call so far (agents, plus decomposition and synthesis once known).
  usage tokens() const noexcept;
  std::chrono::microseconds last_event_at() const noexcept { return last_; }
  /// Resources more than one agent wrote, as they are found.
  const std::vector<write_conflict>& conflicts() const noexcept { return writes_.conflicts(); }

 private:
  write_tracker writes_;
  std::vector<agent_progress> agents_;
  run_phase phase_ = run_phase::decomposing;
  usage run_level_tokens_;
  std::chrono::microseconds last_{0};
};

}  // namespace conclave
