// One agent's loop of turns as a machine with no I/O: call the model, run the tools it asks
// for, feed the results back, call again, until a turn asks for no tool. It owns the agent's
// conversation and enforces the loop's limits (turns, tool calls, stalls, result sizes), and
// refuses bad tool calls (unknown tool, arguments that are not JSON or miss required fields)
// with an error result the model sees. A short coroutine executes its steps; each model call
// is itself a call_machine.
#pragma once

#include <conclave/engine/chat.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace conclave {

/// The limits of one agent's loop.
struct agent_limits {
  int max_turns = 10;        ///< model calls of one agent (retries of a call not counted)
  int max_tool_calls = 20;   ///< tool calls of one agent, over all its turns
  int tool_concurrency = 4;  ///< tool calls of one turn running at once
  std::chrono::milliseconds tool_timeout{60'000};  ///< per tool call, within the agent's deadline
  std::size_t max_tool_result_bytes = 64 * 1024;   ///< longer results are cut (and say so)
  int stall_repeats = 3;  ///< the same call (name and arguments) this many times in a row stalls
  /// Past this, the loop stops (a bound on each agent's memory: the run's shared context, held
  /// once for all, is not counted).
  std::size_t max_conversation_bytes = 8u << 20;
};

/// How an agent's loop ended.
enum class agent_end {
  answered,        ///< a turn asked for no tool: its text is the answer
  max_turns,       ///< the model still wanted tools after max_turns turns
  max_tool_calls,  ///< the turn's calls passed max_tool_calls
  stalled,         ///< the same call stall_repeats times in a row
  too_long,        ///< the conversation passed max_conversation_bytes
};

const char* to_string(agent_end e) noexcept;

/// A tool call the model asked for, as the loop will handle it.
struct planned_call {
  tool_call call;
  std::size_t tool = 0;  ///< index into the offered tools (when `refusal` is empty)
  std::string refusal;   ///< set: not run; this error goes back to the model instead
};

struct agent_step {
  enum class kind {
    call_model,  ///< send conversation() with the offered tools (turn `turn`)
    run_tools,   ///< run `calls` (those without a refusal), then on_results()
    done,        ///< finished: `end`; `why` says which limit, if one
  };
  kind what = kind::done;
  int turn = 0;
  /// call_model: whether the model may call tools this turn. The last turn, and the turn after
  /// the tool-call limit was reached, may not (tool_choice none): the model answers with what
  /// it has.
  bool tools_allowed = true;
  std::vector<planned_call> calls;
  agent_end end = agent_end::answered;
  std::string why;
  /// done: the answer (a paused turn's words, then its continuation's); done by a limit: what
  /// the agent has to say (the last turn's words when it answered, else everything it said);
  /// may be empty.
  std::string answer;
};

class agent_machine {
 public:
  /// `offered` are the tools every turn offers (their parameters' `required` lists are read
  /// once); `start` is the conversation so far (the agent's task; the engine sends the run's
  /// shared context before it, apart, so every agent does not hold a copy).
  agent_machine(agent_limits limits, const std::vector<tool_spec>& offered,
                std::vector<chat_message> start);

  /// The first step: call the model.
  agent_step begin();

  /// After a turn's reply (the assistant message): run tools, or done. Calls without an id
  /// get one ("call_<turn>_<n>"), so results can answer them. `cut`: the reply was cut by the
  /// output token limit, so its calls' arguments may be incomplete: each is refused.
  agent_step on_reply(chat_message assistant, bool cut = false);

  /// After a reply the provider paused (stop_reason::paused, Anthropic's `pause_turn`) with
  /// no tool calls: it goes back as it is, and the model continues it. Counts as a turn (the
  /// turn limit stops an endless pause). Next: call the model.
  agent_step on_paused(chat_message assistant);

  /// After the tools ran: one result per planned call, in order (refused calls included,
  /// with their refusal). Results are cut to max_tool_result_bytes. Next: call the model.
  agent_step on_results(std::vector<tool_result> results);

  const std::vector<chat_message>& conversation() const noexcept { return conversation_; }
  int turns() const noexcept { return turns_; }
  int tool_calls() const noexcept { return tool_calls_; }
  /// What the assistant said over its turns (a partial answer when a limit stopped it).
  std::string said() const;

  /// `result` cut on a character boundary to `limit` bytes, marked when cut.
  static std::string cap_result(std::string result, std::size_t limit);
  /// Arguments as canonical JSON (keys sorted, compact), or the text itself if not JSON.
  static std::string canonical_arguments(const std::string& arguments);

 private:
  planned_call plan(tool_call call) const;
  agent_step stop(agent_end end, std::string why, std::string answer) const;
  agent_step next_turn();  // a turn ended: count it, force an answer at the limits
  std::size_t conversation_bytes() const noexcept;

  agent_limits limits_;
  std::vector<std::string> names_;
  std::vector<std::vector<std::string>> required_;  // per offered tool
  std::vector<chat_message> conversation_;
  int turns_ = 0;
  int tool_calls_ = 0;
  std::string last_signature_;  // name + canonical arguments of the last call
  int repeats_ = 0;
  std::string continued_;  // words of paused turns, until the turn that goes on from them // how
                           // many times in a row it came
  agent_end limit_ = agent_end::answered;  // a limit reached: the next turn answers, no tools
  std::string limit_why_;
  bool forced_ = false;  // this turn may not call tools
};

}  // namespace conclave
