// The OpenAI-compatible wire of `conclave serve`, chat completions side: the models list, the
// request parser, the streamed chunks and the non-streamed reply of POST /v1/chat/completions,
// the errors, and the progress lines a run's events become. Pure functions and small state
// machines, no I/O: the HTTP routes feed bodies in and send the strings out. Not thread-safe
// (one chat_stream per response). The Responses API's side is in responses_compat.hpp.
#pragma once

#include <boost/json/fwd.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace conclave {
struct event;
struct run_report;
struct usage;
}  // namespace conclave

namespace conclave::serve {

/// The model that chooses how many agents per question; "conclave-heavy-N" fixes N.
inline constexpr std::string_view heavy_model_name = "conclave-heavy";
/// A run's deadline when the server is not told otherwise: under the SDKs' 600 s timeout, so a
/// client sees our answer (or our error) rather than its own timeout.
inline constexpr std::chrono::seconds default_run_deadline{540};
/// After this long with nothing sent, a stream sends a keep-alive comment.
inline constexpr std::chrono::seconds keepalive_interval{15};

/// How a run's progress reaches the client: `fields` puts it in both `reasoning` and
/// `reasoning_content` of the deltas (what OpenRouter- and DeepSeek-style clients read),
/// `think_tags` in the content between "<think>\n" and "\n</think>\n\n", `none` drops it.
enum class reasoning_style { fields, think_tags, none };

/// "parsed" -> fields, "raw" / "think" / "think_tags" -> think_tags, "none" / "hidden" -> none
/// (`reasoning_format` values); anything else -> nothing.
std::optional<reasoning_style> reasoning_style_from(std::string_view name) noexcept;

/// An error as the OpenAI API reports it: an HTTP status before the first byte went out, the
/// body's {"error": {...}} in every case.
struct wire_error {
  unsigned status = 400;                       ///< HTTP status, when no byte was sent yet
  std::string message;                         ///< one sentence for people
  std::string type = "invalid_request_error";  ///< "invalid_request_error", "server_error"...
  std::string param;                           ///< the offending request field; empty: null
  std::string code;                            ///< e.g. "model_not_found"; empty: null
  /// A 429's wait, sent as retry-after (whole seconds, rounded up) when no byte was sent yet.
  std::optional<std::chrono::milliseconds> retry_after;

  /// {"error":{"message","type","param","code"}} (param and code null when empty).
  std::string body() const;
};

/// How a run that failed with no answer is said on the wire: 504 for its deadline, 502 when
/// every agent failed or the provider refused the key, else 500; but 429 with the limits'
/// longest wait as retry_after (at least 1 s, at most an hour) when rate limits (ours, shared
/// or the provider's) stopped it or every one of its agents, so the client backs off.
wire_error run_failure(const boost::system::error_code& ec, const run_report& r);

/// The 404 of an unknown model: code "model_not_found", param "model".
wire_error model_not_found(std::string_view name);

/// What a client asked of heavy mode, in either API.
struct heavy_request {
  std::string model;  ///< as the client named it, echoed back
  int agents = 0;     ///< 0: conclave-heavy (chosen per question); N from conclave-heavy-N
  /// The last user message. Earlier user and assistant turns, when there are any, come first
  /// as a bounded "Earlier conversation" block (the latest turns kept, each cut), then
  /// "Question:" and the message.
  std::string question;
  std::string system;  ///< system and developer messages (and Responses `instructions`), joined
  bool stream = false;
  bool include_usage = false;  ///< chat: stream_options.include_usage with stream (else false)
  std::optional<int> max_output_tokens;  ///< max_completion_tokens / max_tokens / max_output_tokens
  std::optional<double> temperature;     ///< 0..2
  /// A per-request override (`reasoning_format`, or OpenRouter's `reasoning.exclude`); unset:
  /// the server's default.
  std::optional<reasoning_style> reasoning;
};

/// Bounds the parsers enforce.
struct model_limits {
  int max_agents = 20;  ///< conclave-heavy-1 .. conclave-heavy-<max_agents> exist
  /// The most UTF-8 bytes of the last user message, and of the system text; past it, 400 with
  /// code "context_length_exceeded". Earlier turns are cut to fit instead of refused.
  std::size_t max_question_chars = 200'000;
};

/// "conclave-heavy" -> 0, "conclave-heavy-N" (1 <= N <= max_agents, no sign or leading zero)
/// -> N, anything else -> nothing.
std::optional<int> heavy_model_agents(std::string_view name, int max_agents) noexcept;

/// GET /v1/models: {"object":"list","data":[conclave-heavy, conclave-heavy-1 .. -max_agents]},
/// each {"id","object":"model","created","owned_by":"conclave"}.
std::string models_json(int max_agents, std::int64_t created);
/// GET /v1/models/{id}: one model object. The caller checks the name (heavy_model_agents) and
/// answers model_not_found otherwise.
std::string model_json(std::string_view name, std::int64_t created);

/// POST /v1/chat/completions' body. Every refusal is a wire_error naming its param: 400 for a
/// malformed body, `messages` (missing, empty, bad role, non-text parts, tool messages, no
/// user message), `tools` / `functions` / `tool_choice` (heavy mode calls no client tools),
/// `n` > 1, a non-bool `stream`, a bad `temperature` / `max_tokens` /
/// `max_completion_tokens` / `reasoning_format`, a missing `model`; 404 model_not_found for an
/// unknown model; 400 context_length_exceeded for a question past the limit. Assistant
/// `reasoning` / `reasoning_content` fields, and fields heavy mode does not use, are ignored.
std::variant<heavy_request, wire_error> parse_chat_request(std::string_view body,
                                                           const model_limits& limits);

/// The SSE frames of one streamed chat completion, in the order the methods are called:
/// role() first, then reasoning() and content() as they come, finish(), usage() when the
/// client asked for it, done(). Each method returns the bytes to send ("" when there are
/// none); every chunk carries the id, "chat.completion.chunk", created and model.
class chat_stream {
 public:
  chat_stream(std::string id, std::string model, std::int64_t created, reasoning_style style);

  /// delta {"role":"assistant","content":""}.
  std::string role();
  /// fields: delta {"reasoning":t,"reasoning_content":t}; think_tags: content "<think>\n" + t
  /// the first time, t after it (dropped once the content began: the tags open once);
  /// none, or empty text: "".
  std::string reasoning(std::string_view text);
  /// delta {"content":t}, after "\n</think>\n\n" when a <think> is open.
  std::string content(std::string_view text);
  /// Closes an open <think>, then delta {} with finish_reason `reason` ("stop", "length").
  std::string finish(std::string_view reason);
  /// choices [] and usage {prompt_tokens, completion_tokens, total_tokens} (and
  /// prompt_tokens_details.cached_tokens from the overload).
  std::string usage(std::int64_t prompt_tokens, std::int64_t completion_tokens);
  std::string usage(const conclave::usage& tokens);

  /// data: {"error":{...}}: an error after the first byte; the caller then closes.
  static std::string error(const wire_error& e);
  /// "data: [DONE]\n\n".
  static std::string done();
  /// ": keep-alive\n\n", an SSE comment clients skip.
  static std::string keepalive();

 private:
  std::string frame(boost::json::object delta, std::string_view finish_reason) const;

  std::string id_;
  std::string model_;
  std::int64_t created_;
  reasoning_style style_;
  bool think_open_ = false;
  bool content_began_ = false;
};

/// The non-streamed reply: "chat.completion" with message {role, content} and, with fields,
/// `reasoning` and `reasoning_content` when there is any; with think_tags the reasoning comes
/// first in the content between <think> tags; finish_reason; usage.
std::string chat_completion(std::string_view id, std::string_view model, std::int64_t created,
                            std::string_view answer, std::string_view reasoning,
                            reasoning_style style, std::string_view finish_reason,
                            std::int64_t prompt_tokens, std::int64_t completion_tokens);

/// `s` as one clean line of at most `max_bytes` bytes: valid UTF-8, terminal escape sequences
/// (CSI, OSC) and other control characters removed, line ends and tabs as spaces, runs of
/// spaces as one, trimmed; a cut ends on a character boundary with "…".
std::string one_line(std::string_view s, std::size_t max_bytes);

/// What the client reads of event `e` in the reasoning stream, each line ending in "\n":
/// decomposed -> "Decomposed into 5 sub-questions." and one line per sub-question; started
/// (first call) -> "Agent 2/5 started: <sub_question>"; completed -> "Agent 3/5 done: <first
/// line of its decision>"; failed / timed_out / cancelled / stopped / skipped, retrying,
/// tool calls, judged, synthesis_started ("Combining 5 decisions."), budget_exhausted and an
/// unhappy finish each a line. Nothing for queued, progress (streamed text), later turns'
/// starts, combined and a finish that went well. `agents_total` 0 leaves out the "/N";
/// `sub_question` (the caller may know it from the plan) is used on `started`.
std::optional<std::string> progress_line(const conclave::event& e, std::size_t agents_total,
                                         std::string_view sub_question = {});

}  // namespace conclave::serve
