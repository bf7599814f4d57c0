// Value types of one model call: what goes in, what comes out, and the context of a failure.
// Plain data with public fields; every provider adapter maps these to and from its wire format.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace conclave {

enum class role { system, user, assistant };

/// "system", "user" or "assistant".
const char* to_string(role r) noexcept;

struct chat_message {
  role who = role::user;  ///< who speaks
  std::string content;    ///< what is said (UTF-8)
};

struct chat_request {
  std::string model;                   ///< provider's model name; empty: the adapter's default
  std::vector<chat_message> messages;  ///< the conversation so far, oldest first
  std::optional<int> max_tokens;       ///< cap on completion tokens; unset: provider default
  std::optional<double> temperature;   ///< sampling temperature; unset: provider default
  bool stream = false;                 ///< ask for a streamed (SSE) reply
};

struct usage {
  std::int64_t prompt_tokens = 0;      ///< tokens sent (input)
  std::int64_t completion_tokens = 0;  ///< tokens produced (output)
  std::int64_t total() const noexcept { return prompt_tokens + completion_tokens; }
  usage& operator+=(const usage& other) noexcept {
    prompt_tokens += other.prompt_tokens;
    completion_tokens += other.completion_tokens;
    return *this;
  }
};

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
  int http_status = 0;                                 ///< 0: no HTTP response was read
  std::string provider_code;                           ///< e.g. "rate_limit_exceeded"
  std::string message;                                 ///< provider's message, or ours
  std::optional<std::chrono::milliseconds> retry_after;  ///< from retry-after(-ms)
  std::optional<bool> should_retry;                    ///< x-should-retry, when the server sent it
  std::string request_id;                              ///< x-request-id / request-id
};

struct chat_response {
  std::string content;        ///< the assistant's text (concatenated deltas when streamed)
  std::string finish_reason;  ///< "stop", "length"...; empty if the provider gave none
  std::string model;          ///< model that answered, as the provider names it
  usage tokens;               ///< usage as reported (or counted, for a cut stream)
  rate_limit_info limits;     ///< rate-limit headers of the reply
  diagnostics diag;           ///< filled when the call failed
  std::chrono::microseconds latency{0};  ///< from send to last byte
};

}  // namespace conclave
