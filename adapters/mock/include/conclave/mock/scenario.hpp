// What the mock model says, decided with no socket: which fault a request asks for (by model
// name), a deterministic reply derived from the prompt, and decomposition into N sub-questions.
#pragma once

#include <conclave/engine/chat.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::mock {

/// Fault modes, chosen per request by the model name: "mock-429", "mock-500", "mock-503",
/// "mock-hang", "mock-reset", "mock-malformed", "mock-truncated", "mock-drip",
/// "mock-error-event"; stop reasons "mock-length", "mock-filtered", "mock-empty"; a hostile
/// server echoing the request's credential back (Authorization, "Bearer <key>", or on the
/// Anthropic wire x-api-key): "mock-echo-401", "mock-echo-text", "mock-echo-200-error",
/// "mock-echo-malformed", "mock-echo-stream"; "mock-html", "mock-early-hints"; and
/// "mock-529", "mock-pause". Any other name (e.g. "mock") answers normally. Random faults
/// (mock_options::fault_rate) draw only from the first nine.
enum class fault {
  none,
  rate_limited,    ///< 429 with retry-after(-ms) and x-ratelimit-* headers
  server_error,    ///< 500 with an OpenAI error body
  unavailable,     ///< 503 (overloaded) with retry-after
  hang,            ///< reads the request, never answers (until the client gives up)
  reset,           ///< starts the reply, then resets the connection (RST)
  malformed,       ///< 200 with a body (or stream chunk) that is not valid JSON
  truncated,       ///< stream closes cleanly before [DONE]; JSON reply cut short
  drip,            ///< a valid reply, one character per chunk, slowly
  error_event,     ///< stream: a chunk, then an in-stream {"error": ...} and close
  length,          ///< a normal reply with finish_reason "length" (cut by max_tokens)
  filtered,        ///< the reply's first words, then finish_reason "content_filter"
  empty,           ///< no content at all, finish_reason "stop"
  echo_401,        ///< 401 whose message, code and x-request-id are the Authorization header
  echo_text,       ///< 500 text/plain body quoting the Authorization header
  echo_200_error,  ///< 200 holding an error object that quotes it (stream: an error chunk)
  echo_malformed,  ///< 200 with malformed JSON quoting it (stream: a malformed chunk)
  echo_stream,     ///< stream: content quoting it split across two chunks, then an in-stream
                   ///< error quoting it; JSON: a normal reply whose content quotes it
  html,            ///< 200 text/html (a proxy's sign-in page), JSON and stream requests alike
  early_hints,     ///< a 103 Early Hints interim response, then a normal reply
  overloaded,      ///< 529 (Anthropic's overloaded_error; the OpenAI wire sends its own body)
  paused,          ///< Anthropic: stop_reason pause_turn unless the last message is the
                   ///< assistant's (a continuation), then a normal reply; OpenAI: normal
};
inline constexpr std::size_t fault_kinds = 22;  ///< how many values `fault` has

fault fault_from_model(std::string_view model);
const char* to_string(fault f) noexcept;

struct incoming_request {
  std::string model;
  std::vector<chat_message> messages;  ///< assistant tool_calls and `tool` results as parts
  bool stream = false;
  bool include_usage = false;
  std::vector<tool_spec> tools;             ///< `tools` offered (parameters as JSON text)
  tool_choice choice;                       ///< `tool_choice`; automatic when absent
  std::optional<bool> parallel_tool_calls;  ///< unset: not sent
};

/// The most tools a request may offer (beyond: 400).
inline constexpr std::size_t max_tools = 128;

/// Parses an OpenAI chat-completions request body, tool turns and `tools` included (see
/// adapters/mock/README.md); on failure says why in `why` (the 400's message).
bool parse_request(std::string_view body, incoming_request& out, std::string& why);

/// The most sub-questions the mock writes; a prompt asking for more gets this many.
inline constexpr int max_subquestions = 10'000;

/// N when the prompt asks to split a question into N sub-questions ("... into 5 sub-questions"),
/// capped at max_subquestions.
std::optional<int> requested_subquestions(const incoming_request& req);

/// The question a prompt is about: the text after "Question:" in the last user message, or
/// that whole message.
std::string subject_of(const incoming_request& req);

/// The reply text: a JSON array of N sub-questions when asked to decompose, else
/// `words` deterministic words about the subject. Same request, same reply.
std::string reply_text(const incoming_request& req, int words);

/// Token counts the mock reports: about 4 bytes a token, plus 3 per message.
usage count_usage(const incoming_request& req, std::string_view reply);

}  // namespace conclave::mock
