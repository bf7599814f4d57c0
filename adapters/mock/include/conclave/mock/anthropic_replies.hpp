// The Anthropic Messages replies the mock sends, as bytes, decided with no socket: a whole
// `message` body, the SSE events of a streamed one, error bodies and the in-stream error
// event, and the anthropic-ratelimit-* headers with their RFC 3339 resets.
#pragma once

#include <conclave/engine/chat.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conclave::mock::anthropic {

/// One content block of a reply.
struct block {
  enum class kind { text, thinking, tool_use };
  kind what = kind::text;
  std::string text;       ///< the words, or the thinking
  std::string signature;  ///< a thinking block's signature
  tool_call call;         ///< a tool_use block: id ("toolu_..."), name, input as JSON text
  /// Streamed: these text deltas exactly, instead of words_per_chunk words each (the echo
  /// fault splits inside the credential).
  std::vector<std::string> pieces;
};

/// A reply, shaped before it becomes bytes.
struct reply {
  std::string id;  ///< "msg_..."
  std::string model;
  std::vector<block> content;
  std::string stop_reason = "end_turn";  ///< end_turn, tool_use, max_tokens, refusal, pause_turn
  std::int64_t input_tokens = 0;         ///< not read from the cache
  std::int64_t output_tokens = 0;
  std::int64_t cache_read_tokens = 0;
};

/// The non-streamed body: {"id", "type": "message", "role", "model", "content", "stop_reason",
/// "stop_sequence": null, "usage"}. A tool_use input that is not a JSON object (the malformed
/// tool mode) goes as a string: a client must refuse it.
std::string message_body(const reply& r);

/// One SSE event: its type and its bytes ("event: TYPE\ndata: {...}\n\n").
struct sse_event {
  std::string type;
  std::string bytes;
};

/// The events of a streamed reply, in Anthropic's order: message_start (usage with the input
/// counts, output_tokens 1), ping, then per block content_block_start, its deltas (text_delta
/// by words_per_chunk words or by single bytes when `one_char`; thinking_delta then
/// signature_delta; input_json_delta with the input cut in three partial_json pieces) and
/// content_block_stop, a ping between blocks, message_delta (stop_reason, stop_sequence null,
/// the cumulative output_tokens) and message_stop.
std::vector<sse_event> message_events(const reply& r, int words_per_chunk, bool one_char);

/// "event: TYPE\ndata: JSON\n\n" with `data_json` as given (valid or not).
std::string event_bytes(std::string_view type, std::string_view data_json);

/// {"type": "error", "error": {"type", "message"}, "request_id"}.
std::string error_body(std::string_view type, std::string_view message,
                       std::string_view request_id);

/// The in-stream error: "event: error" with {"type": "error", "error": {"type", "message"}}.
std::string error_event(std::string_view type, std::string_view message);

/// The Anthropic word for an OpenAI finish reason: stop -> end_turn, length -> max_tokens,
/// content_filter -> refusal, tool_calls -> tool_use; others as they are.
std::string_view stop_reason_for(std::string_view finish_reason) noexcept;

/// What the rate-limit headers say, relative to now.
struct limit_reading {
  std::int64_t requests_limit = 0;
  std::int64_t requests_remaining = 0;
  std::chrono::milliseconds requests_reset{0};  ///< until requests are fully replenished
  std::int64_t input_tokens_limit = 0;
  std::int64_t input_tokens_remaining = 0;
  std::int64_t output_tokens_limit = 0;
  std::int64_t output_tokens_remaining = 0;
  std::chrono::milliseconds tokens_reset{0};
};

using header_list = std::vector<std::pair<std::string, std::string>>;

/// anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset};
/// tokens are input plus output; resets are RFC 3339 times after `now`, rounded up to the
/// second so a client waiting until then never comes back early.
header_list ratelimit_headers(const limit_reading& l, std::chrono::system_clock::time_point now);

/// `t` as RFC 3339 in UTC, whole seconds rounded up: "2026-11-26T03:04:05Z".
std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace conclave::mock::anthropic
