// OpenAI chat-completions wire format, with no socket: a chat_request to JSON, a JSON reply
// or an SSE stream to a chat_response, error bodies and rate-limit headers to typed fields.
#pragma once

#include <conclave/engine/chat.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/http/header_fields.hpp>
#include <conclave/http/sse_parser.hpp>
#include <conclave/openai/tool_calls.hpp>
#include <conclave/provider/codec.hpp>
#include <conclave/provider/tool_checks.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace conclave::openai {

/// The chat-completions wire as a codec (named "openai"), for provider::http_model: bearer
/// credentials, POST {base}/chat/completions, the functions below.
const provider::codec& wire();

/// The JSON body of POST /chat/completions. `stream` adds stream_options.include_usage so the
/// final chunk reports usage; tools go as `tools` (type function), `tool_choice` and
/// `parallel_tool_calls` (check them first with check_tools). An assistant turn's tool calls
/// go as `tool_calls` (content null when it said nothing), with its `reasoning_content`
/// replayed; each tool result is a `tool` message with its `tool_call_id` (an error result's
/// text starts "Error: ", the wire having no flag for it).
std::string encode_chat_request(const chat_request& req, std::string_view default_model);

/// Whether the request's tools can be sent (the rules both wires share: tool_checks.hpp).
using provider::check_tools;

/// Parses a non-streamed `chat.completion`, `stop` included. On failure returns
/// error::bad_response and says why in `diag.message`. `usage_reported`, if given, says whether
/// the reply carried believable usage (both counts non-negative integers); `out.tokens` is
/// left at zero otherwise, for the caller to estimate.
boost::system::error_code decode_chat_completion(std::string_view body, chat_response& out,
                                                 bool* usage_reported = nullptr);

/// Reads an error body ({"error": {"message", "type", "code"}}) into `diag`; a body that is not
/// such JSON is kept (cut short on a character boundary, valid UTF-8) as the message.
void decode_error_body(std::string_view body, diagnostics& diag);

/// x-ratelimit-{limit,remaining,reset}-{requests,tokens}.
rate_limit_info decode_rate_limits(const http::header_fields& headers);

using stream_pieces = provider::stream_pieces;

/// Turns the SSE events of a streamed reply into deltas and a final chat_response (its
/// message: the text, then the tool calls, and the reasoning).
/// A stream is complete only at `data: [DONE]`; an `error` object mid-stream fails it.
class stream_decoder final : public provider::stream_decoder {
 public:
  /// Handles one event; appends what it carries to `pieces`.
  step on_event(const http::sse_event& event, stream_pieces& pieces) override;

  bool done() const noexcept override { return done_; }
  /// Set once a step returned failed.
  boost::system::error_code failure_code() const noexcept override { return error_; }
  const diagnostics& failure() const noexcept override { return failure_; }
  /// Whether the provider reported believable usage (the include_usage chunk, both counts
  /// non-negative integers); when not, response().tokens is zero, for the caller to estimate.
  bool usage_reported() const noexcept override { return usage_reported_; }
  /// The reply so far: whole after `done`, the text that arrived when cut short.
  chat_response& response() override;
  std::string_view end_marker() const noexcept override { return "[DONE]"; }

 private:
  step fail(conclave::error e, std::string message);

  chat_response response_;
  std::string text_;
  tool_call_accumulator tool_calls_;
  diagnostics failure_;
  boost::system::error_code error_;
  bool done_ = false;
  bool usage_reported_ = false;
};

}  // namespace conclave::openai
