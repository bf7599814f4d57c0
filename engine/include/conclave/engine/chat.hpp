// Value types of one model call: what goes in, what comes out, and the context of a failure.
// Plain data with public fields; every provider adapter maps these to and from its wire format.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave {

enum class role { system, user, assistant };

/// "system", "user" or "assistant".
const char* to_string(role r) noexcept;

struct chat_message {
  role who = role::user;  ///< who speaks
  std::string content;    ///< what is said (UTF-8)
};

/// A tool the model may call: its name, what it does, and its parameters as a JSON Schema
/// (JSON text of an object).
struct tool_spec {
  std::string name;
  std::string description;
  std::string parameters = R"({"type":"object","properties":{}})";
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
  std::int64_t prompt_tokens = 0;      ///< tokens sent (input)
  std::int64_t completion_tokens = 0;  ///< tokens produced (output)
  std::int64_t total() const noexcept { return saturating_add(prompt_tokens, completion_tokens); }
  /// Saturating: sums of untrusted counts never overflow.
  usage& operator+=(const usage& other) noexcept {
    prompt_tokens = saturating_add(prompt_tokens, other.prompt_tokens);
    completion_tokens = saturating_add(completion_tokens, other.completion_tokens);
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
};

/// "unknown", "end", "length", "tool_use", "content_filter".
const char* to_string(stop_reason r) noexcept;

/// The OpenAI and Anthropic words for it: "stop"/"end_turn" end, "length"/"max_tokens" length,
/// "tool_calls"/"function_call"/"tool_use" tool_use, "content_filter"/"refusal" content_filter.
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
};

/// A tool the model asked to run: its call id, the tool's name, and its arguments as JSON text
/// (an object; "{}" when the model sent none).
struct tool_call {
  std::string id;
  std::string name;
  std::string arguments = "{}";
};

struct chat_response {
  std::string content;        ///< the assistant's text (concatenated deltas when streamed)
  std::string finish_reason;  ///< the provider's own word ("stop", "length"...); may be empty
  stop_reason stop = stop_reason::unknown;  ///< finish_reason, understood; tool_use whenever
                                            ///< tool_calls is not empty, whatever the provider said
  std::vector<tool_call> tool_calls;        ///< tools the model asked for, in order
  std::string model;                        ///< model that answered, as the provider names it
  usage tokens;                             ///< usage as reported (or counted, for a cut stream)
  rate_limit_info limits;                   ///< rate-limit headers of the reply
  diagnostics diag;                         ///< filled when the call failed
  std::chrono::microseconds latency{0};     ///< from send to last byte
};

}  // namespace conclave
