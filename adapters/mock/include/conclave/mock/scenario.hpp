// What the mock model says, decided with no socket: which fault a request asks for (by model
// name), a deterministic reply derived from the prompt, decomposition into N sub-questions, and
// the answers to conclave's combine prompts (vote, select, judge, revise) and dynamic plans.
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

/// The phrases the mock keys on to play conclave's prompts (engine/combine.hpp and the
/// dynamic decomposition write them; test_mock_scenario checks the engine's wording still
/// holds them). Each is looked for in the system and user messages, but revise_phrase, which
/// must begin the last user message.
inline constexpr std::string_view vote_phrase = "end with one line \"ANSWER:";
inline constexpr std::string_view select_phrase = "most consistent with the others";
inline constexpr std::string_view judge_phrase = "Grade this answer";
inline constexpr std::string_view revise_phrase = "Revise your answer";
inline constexpr std::string_view plan_phrase = "Choose how many sub-questions";

/// The reply text, deterministic (same request, same reply), the first that applies:
/// - revise_phrase: "Revised: " then the plain words below (and the vote line, when asked);
/// - plan_phrase: {"subtasks": [{"id": "s1", "prompt": "<topic>? (focus: <aspect>)",
///   "depends_on": []}, ...]}: 2 subtasks when the question (subject_of) says " vs " or
///   "compare" (any case), else 1 when it has at most 6 words, else 3; with "mock-diamond", s1..s4
///   where s2 and s3 depend on s1 and s4 on s2 and s3;
/// - judge_phrase: {"verdict": ..., "critique": ...}: "fail" (critique "The answer lacks
///   concrete evidence; cite one.") when the prompt before `<answer>` says "mock-judge-fails",
///   or "fail" when the answer (between `<answer>` and `</answer>`) says "mock-bad"; but an
///   answer holding "Revised:" always gets "pass", as does everything else;
/// - select_phrase: a sentence, then "SELECTED: k", k = fnv1a(subject) % count + 1, count the
///   `[Answer 1]`, `[Answer 2]`, ... headers in a row in the last user message (at least 1);
/// - a request to split into N sub-questions: a JSON array of N (requested_subquestions);
/// - otherwise `words` words about the subject; with vote_phrase, then a line
///   "ANSWER: <short>", one of four short answers picked by a hash of the larger question (the
///   "The larger question:" line of a system message, else the subject), so agents on one
///   question agree; with "mock-split-vote" in it, by each agent's sub-question instead (its
///   "(focus: <k-th aspect>)" gives answer k mod 4, else a hash), so votes split.
std::string reply_text(const incoming_request& req, int words);

/// Token counts the mock reports: about 4 bytes a token, plus 3 per message.
usage count_usage(const incoming_request& req, std::string_view reply);

}  // namespace conclave::mock
