// How the mock plays tool use, decided with no socket: which tool calls a request offering
// tools gets, their arguments filled from each tool's JSON Schema, and the final text that
// quotes the tools' results. The rule is written out in adapters/mock/README.md.
#pragma once

#include <conclave/mock/scenario.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::mock {

/// How a model name plays tool turns: "mock-tools[-N][-option]...", options in any order
/// ("mock-tools-3-noindex"); "mock-think-tools[-N][-option]..." plays the same (the thinking is
/// the Anthropic wire's, see anthropic_play.hpp). Every other name plays the default: one round.
struct tool_mode {
  int rounds = 1;            ///< "-N": tool-call rounds before the final answer (0..100)
  bool endless = false;      ///< "-endless": every turn calls again, the same call
  bool varied = false;       ///< "-endless-varied": endless, arguments changing each round
  bool malformed = false;    ///< "-malformed": arguments that are not valid JSON
  bool unknown = false;      ///< "-unknown": calls a tool that was not offered
  bool no_index = false;     ///< "-noindex": streamed fragments carry no `index`
  bool late_name = false;    ///< "-late-name": streamed name in a call's second fragment
  bool finish_stop = false;  ///< "-finish-stop": tool turns end with finish_reason "stop"
};

/// The most rounds "-N" may ask for.
inline constexpr int max_tool_rounds = 100;

/// The mode `model` names. A name starting "mock-tools" or "mock-think" that does not parse
/// gives nullopt and says why (the mock answers 400); any other name gives the default mode.
std::optional<tool_mode> tool_mode_from_model(std::string_view model, std::string& why);

/// Tool-call rounds so far: assistant messages with tool calls after the last user message.
int tool_rounds(const incoming_request& req);

/// A tool turn: the calls, in order, and the finish reason it ends with.
struct tool_turn {
  std::vector<tool_call> calls;
  std::string finish_reason = "tool_calls";
};

/// The tool turn `req` gets, or nullopt when it gets a final text: tools offered, tool_choice
/// not "none", and fewer than R rounds so far (R: mode.rounds, at least 1 with "required",
/// endless modes never reach it).
std::optional<tool_turn> play_tools(const incoming_request& req, const tool_mode& mode);

/// `text`, then "Tool NAME said: RESULT." for each result of the last round (each cut to
/// result_quote_bytes on a character boundary); `text` alone when there are none.
std::string with_tool_results(const incoming_request& req, std::string text);
inline constexpr std::size_t result_quote_bytes = 80;

/// Arguments (compact JSON object text) for a tool whose parameters are the JSON Schema
/// `schema`: every required property filled, in the schema's order: `const`, else `default`,
/// else the first of `examples`, else the first of `enum`, else by type (string: a word; integer or
/// number: 2, 3, ... held within minimum/maximum; boolean: true; array: one item of `items`, or [];
/// object: its own required properties; null: null); anyOf/oneOf take their first branch, a `$ref`
/// is {}. `variant` shifts the words and numbers (endless-varied). Not an object schema: "{}".
std::string fill_arguments(std::string_view schema, int variant = 0);

}  // namespace conclave::mock
