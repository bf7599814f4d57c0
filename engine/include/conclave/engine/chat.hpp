// Value types of one model call: what goes in, what comes out, and the context of a failure.
// Plain data with public fields; every provider adapter maps these to and from its wire format.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace conclave {

enum class role { system, user, assistant, tool };

/// "system", "user", "assistant" or "tool".
const char* to_string(role r) noexcept;

/// Plain words in a message (UTF-8).
struct text_part {
  std::string text;
};

/// A tool the model asked to run: its call id, the tool's name, and its arguments as JSON text
/// (an object; "{}" when the model sent none).
struct tool_call {
  std::string id;
  std::string name;
  std::string arguments = "{}";
};

/// What running a tool gave, sent back to the model in a `tool` message: the call it answers,
/// the result as text, and whether it is an error (the model sees it and may try otherwise).
struct tool_result {
  std::string call_id;
  std::string content;
  bool is_error = false;
};

/// One piece of a message: text, a tool call (assistant) or a tool result (tool).
using content_part = std::variant<text_part, tool_call, tool_result>;

/// Blocks the provider that wrote an assistant turn needs back verbatim on the next request
/// (Anthropic's signed `thinking` and `redacted_thinking` blocks), as that wire's JSON array
/// text, tagged with the wire's name: another wire ignores them.
struct replay_blocks {
  std::string wire;  ///< the codec's name ("anthropic"); empty: none
  std::string json;  ///< a JSON array of the blocks, as the provider sent them
};

/// One turn of a conversation: who speaks and what, as content parts in order. A plain chat
/// message is one text part; an assistant turn may add tool calls; a tool message carries one
/// tool result.
struct chat_message {
  role who = role::user;
  std::vector<content_part> parts;
  /// An assistant turn's reasoning as the provider sent it (`reasoning_content`); adapters
  /// replay it on tool turns, as reasoning models require. Never shown to other agents.
  std::string reasoning;
  /// What the provider needs replayed of this turn (see replay_blocks); never shown anywhere.
  replay_blocks replay;

  chat_message() = default;
  /// An empty message from `w`.
  explicit chat_message(role w) : who(w) {}
  /// A message of one text part.
  chat_message(role w, std::string words) : who(w) {
    parts.emplace_back(text_part{std::move(words)});
  }

  /// The text parts, joined in order ("" when there are none).
  std::string text() const;
  /// The tool calls, in order.
  std::vector<tool_call> tool_calls() const;
  bool has_tool_calls() const noexcept;
  /// Bytes of everything said: texts, tool names and arguments, results, reasoning (for
  /// token estimates and bounds).
  std::size_t size() const noexcept;
  /// The tool result message answering `result.call_id`.
  static chat_message from_result(tool_result result);
};

/// A tool the model may call: its name, what it does, and its parameters as a JSON Schema
/// (JSON text of an object).
struct tool_spec {
  std::string name;
  std::string description;
  std::string parameters = R"({"type":"object","properties":{}})";
  /// For a tool that writes a resource: the argument naming it ("path"). Calls are tracked so
  /// two agents writing one resource are reported as a conflict. Never sent to the model.
  std::string writes;
};

/// Whether the model may, must or must not call tools, or which one it must call.
struct tool_choice {
  enum class mode { automatic, none, required, named };
  mode how = mode::automatic;
  std::string name;  ///< the tool, with `named`
};

struct chat_request {
  std::string model;                   ///< provider's model name; empty: the adapter's default
  std::vector<chat_message> messages;  ///< the conversation so far, oldest first
  std::optional<int> max_tokens;       ///< cap on completion tokens; unset: provider default
  std::optional<double> temperature;   ///< sampling temperature; unset: provider default
  bool stream = false;                 ///< ask for a streamed (SSE) reply
  /// When the caller stops waiting. Decorators and adapters use it to fail early and say why
  /// (a rate-limit wait that would pass it fails at once with rate_limited) rather than be cut
  /// by the caller's timer; unset: no deadline beyond the adapter's own.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::vector<tool_spec> tools;  ///< tools offered to the model; none: a plain chat turn
  tool_choice choice;            ///< with tools: whether and which one to call
  std::optional<bool>
      parallel_tool_calls;  ///< with tools: several calls in one turn; unset: provider default
};

/// a + b for token counts, pinned at INT64_MAX instead of overflowing (a server may report
/// anything; counts are never negative once through an adapter).
constexpr std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? INT64_MAX : INT64_MIN;
  return sum;
}

struct usage {
  std::int64_t prompt_tokens = 0;      ///< tokens sent (input), cached ones included
  std::int64_t completion_tokens = 0;  ///< tokens produced (output)
  /// Of prompt_tokens: those read from the provider's prompt cache (OpenAI `cached_tokens`,
  /// Anthropic `cache_read_input_tokens`) and those written to it (Anthropic
  /// `cache_creation_input_tokens`); priced apart (budget.hpp).
  std::int64_t cache_read_tokens = 0;
  std::int64_t cache_write_tokens = 0;
  std::int64_t total() const noexcept { return saturating_add(prompt_tokens, completion_tokens); }
  /// Saturating: sums of untrusted counts never overflow.
  usage& operator+=(const usage& other) noexcept {
    prompt_tokens = saturating_add(prompt_tokens, other.prompt_tokens);
    completion_tokens = saturating_add(completion_tokens, other.completion_tokens);
    cache_read_tokens = saturating_add(cache_read_tokens, other.cache_read_tokens);
    cache_write_tokens = saturating_add(cache_write_tokens, other.cache_write_tokens);
    return *this;
  }
};

/// Why the model stopped producing its reply.
enum class stop_reason {
  unknown,         ///< the provider said nothing we recognise (its words in finish_reason)
  end,             ///< a natural end ("stop", "end_turn")
  length,          ///< cut by max_tokens or the context window: the answer is truncated
  tool_use,        ///< the model asked for tools
  content_filter,  ///< refused or cut by the provider's content filter
  paused,          ///< the provider paused a long turn (Anthropic `pause_turn`): send the
                   ///< conversation back as it is to let it continue
};

/// "unknown", "end", "length", "tool_use", "content_filter", "paused".
const char* to_string(stop_reason r) noexcept;

/// The OpenAI and Anthropic words for it: "stop"/"end_turn" end, "length"/"max_tokens" length,
/// "tool_calls"/"function_call"/"tool_use" tool_use, "content_filter"/"refusal" content_filter,
/// "pause_turn" paused.
stop_reason stop_reason_from(std::string_view provider_word) noexcept;

/// What the provider said about its limits, from its response headers. Unset: not sent.
struct rate_limit_info {
  std::optional<std::int64_t> limit_requests;
  std::optional<std::int64_t> remaining_requests;
  std::optional<std::chrono::milliseconds> reset_requests;
  std::optional<std::int64_t> limit_tokens;
  std::optional<std::int64_t> remaining_tokens;
  std::optional<std::chrono::milliseconds> reset_tokens;
};

/// Context of a failed call, next to its error_code (STYLE item 12).
struct diagnostics {
  int http_status = 0;                                   ///< 0: no HTTP response was read
  std::string provider_code;                             ///< e.g. "rate_limit_exceeded"
  std::string message;                                   ///< provider's message, or ours
  std::optional<std::chrono::milliseconds> retry_after;  ///< from retry-after(-ms)
  std::optional<bool> should_retry;  ///< x-should-retry, when the server sent it
  std::string request_id;            ///< x-request-id / request-id
  /// The call never reached the provider: a limiter in front of it refused (e.g. limits
  /// shared on Redis). Outer limiters then count no 429 and give its place back.
  bool refused_before_sending = false;
};

/// A piece of a streamed reply, as it arrives: text, reasoning, or a fragment of a tool call.
/// Views are valid only during the callback.
struct text_delta {
  std::string_view text;
};
struct reasoning_delta {
  std::string_view text;
};
/// A fragment of the tool call numbered `index` (0-based, in the order calls were opened):
/// `id` and `name` are set on the fragment that first carries them, `arguments` is the next
/// piece of the arguments' JSON text.
struct tool_call_delta {
  std::size_t index = 0;
  std::string_view id;
  std::string_view name;
  std::string_view arguments;
};
using chat_delta = std::variant<text_delta, reasoning_delta, tool_call_delta>;

struct chat_response {
  /// The assistant's turn: its text (concatenated deltas when streamed), then its tool calls,
  /// and its reasoning when the provider sent any.
  chat_message message{role::assistant};
  std::string finish_reason;  ///< the provider's own word ("stop", "length"...); may be empty
  stop_reason stop = stop_reason::unknown;  ///< finish_reason, understood; tool_use whenever
                                            ///< the message holds tool calls, whatever the
                                            ///< provider said
  std::string model;                        ///< model that answered, as the provider names it
  usage tokens;                             ///< usage as reported (or counted, for a cut stream)
  rate_limit_info limits;                   ///< rate-limit headers of the reply
  diagnostics diag;                         ///< filled when the call failed
  std::chrono::microseconds latency{0};     ///< from send to last byte

  /// message.text(): the answer's words.
  std::string text() const { return message.text(); }
};

/// An assistant message from its text and tool calls (empty text: no text part).
chat_message assistant_message(std::string text, std::vector<tool_call> calls = {},
                               std::string reasoning = {});

}  // namespace conclave
