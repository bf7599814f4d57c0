// Anthropic Messages wire format (API version 2023-06-01), with no socket: a chat_request to
// the JSON body of POST /v1/messages, a JSON reply or an SSE stream (stream_decoder.hpp) to a
// chat_response, error bodies and rate-limit headers to typed fields; and all of it as the
// provider::codec the HTTP shell drives.
#pragma once

#include <conclave/anthropic/stream_decoder.hpp>
#include <conclave/engine/chat.hpp>
#include <conclave/http/header_fields.hpp>
#include <conclave/provider/codec.hpp>
#include <conclave/provider/tool_checks.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace conclave::anthropic {

/// Sent as `anthropic-version` on every request.
inline constexpr std::string_view api_version = "2023-06-01";
/// The wire requires max_tokens; sent when the request sets none.
inline constexpr int default_max_tokens = 4096;
/// Where requests go unless configured otherwise (the messages target is "v1/messages" under it).
inline constexpr std::string_view default_base_url = "https://api.anthropic.com";

/// The codec: stateless, one instance for every call and thread; name() is "anthropic". It
/// always streams on the wire (streams() is true), whether or not the caller wants deltas.
const provider::codec& wire();

/// The JSON body of POST /v1/messages. System messages, wherever they are, go joined with
/// "\n\n" as the top-level `system` string; the rest as `messages` of content blocks, each
/// `tool` message as a user message of tool_result blocks (`is_error` on errors), and
/// consecutive messages of one role merged into one (Anthropic wants user and assistant to
/// alternate, and every result of a turn in one user message). An assistant turn's blocks are
/// its replayed thinking blocks (replay.wire "anthropic", verbatim) first, then its text, then
/// a tool_use block per call. `max_tokens` is the request's or default_max_tokens; tools go as
/// `tools` and `tool_choice` (check them first with check_tools); `stream` adds stream: true.
std::string encode_messages_request(const chat_request& req, std::string_view default_model,
                                    bool stream);

/// Whether the request's tools can be sent (the rules both wires share: tool_checks.hpp).
using provider::check_tools;

/// Parses a whole (non-streamed) `message` reply into `out`: text, tool calls, reasoning and
/// replay blocks, stop reason (tool_use whenever it holds tool calls), model, usage. A body
/// of type "error" gives its mapped error (error_from_type) with its message; anything that is
/// not such a message gives error::bad_response with why in `out.diag.message`.
/// `usage_reported`, if given, says whether input and output counts were believable
/// (`out.tokens` is left at zero otherwise, for the caller to estimate).
boost::system::error_code decode_message(std::string_view body, chat_response& out,
                                         bool* usage_reported = nullptr);

/// An error reply's body ({"type":"error","error":{"type","message"}}) into `diag`: message
/// and provider_code (the error's type); a body that is not such JSON is kept, cut short to
/// valid UTF-8, as the message. Returns the status's error (provider::classify_status), or
/// error::overloaded when the body says overloaded_error whatever the status.
boost::system::error_code decode_error_body(unsigned status, std::string_view body,
                                            diagnostics& diag);

/// anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset},
/// resets being RFC 3339 instants turned into waits from `now` (past: 0). Requests go to the
/// *_requests fields; tokens to *_tokens, or, when no `tokens` headers came, the input-tokens
/// or output-tokens triple with the smaller remaining (the one that will stop us first).
rate_limit_info decode_rate_limits(const http::header_fields& headers,
                                   std::chrono::system_clock::time_point now);

/// The model family whose rate limits a model name shares (Anthropic limits per family, not
/// per snapshot): a dated or "-latest" suffix goes, and a new-style name's minor version
/// ("claude-sonnet-4-5-20250929" and "claude-sonnet-4" are both "claude-sonnet-4"). Other
/// names are their own family. For limited_model's limit_key.
std::string model_family(std::string_view model_name);

}  // namespace conclave::anthropic
