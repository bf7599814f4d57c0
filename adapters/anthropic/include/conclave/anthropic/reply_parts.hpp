// What an Anthropic reply is made of, streamed or whole: content blocks, usage counts and
// error types, and how they become conclave's chat_message, usage and error codes. Shared by
// the non-streamed decoder and the stream decoder so both read a reply the same way.
#pragma once

#include <conclave/engine/chat.hpp>
#include <conclave/engine/error.hpp>

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::anthropic {

/// Bounds on what a reply may make us hold (a hostile stream could grow forever); as the
/// OpenAI wire's tool_call_accumulator.
inline constexpr std::size_t max_content_blocks = 128;
inline constexpr std::size_t max_argument_bytes = 1 << 20;

/// One block of an assistant message's `content`, whole or as its deltas built it so far.
struct content_block {
  enum class kind {
    text,               ///< words: `body`
    tool_use,           ///< a tool call: `id`, `name`, arguments JSON text in `body`
    thinking,           ///< reasoning: `body` is its text, `signature` its signature
    redacted_thinking,  ///< encrypted reasoning: `body` is its `data`
    other,              ///< a type we do not know (kept for its index, otherwise ignored)
  };
  kind what = kind::other;
  std::int64_t index = 0;  ///< the server's content block index (streams)
  bool closed = false;     ///< content_block_stop seen (streams)
  std::size_t call = 0;    ///< tool_use: its place among the tool_use blocks (0-based)
  std::string id, name;
  std::string body;
  std::string signature;
};

/// The kind a `content_block.type` word names (unknown words: other).
content_block::kind block_kind(std::string_view type) noexcept;

/// The assistant message the blocks make: the text blocks' words joined, then the tool calls
/// in block order (arguments: "" is {}, an object re-serialised compactly, anything else
/// passed as sent, valid UTF-8), the thinking text as `reasoning`, and `replay` = {"anthropic",
/// the thinking and redacted_thinking blocks as a JSON array} when there were any (Anthropic
/// wants them back verbatim on the next request). False with `why` when a tool_use block has
/// no name.
bool assemble_message(const std::vector<content_block>& blocks, chat_message& out,
                      std::string& why);

/// The words of the text blocks so far, joined (a stream cut short keeps these).
std::string text_of(const std::vector<content_block>& blocks);

/// A reply's `usage` counts as last reported. Anthropic's counts are cumulative: a later
/// report overwrites the fields it carries, never adds to them.
struct usage_counts {
  std::optional<std::int64_t> input, output, cache_write, cache_read;

  /// Overwrites every field `usage` carries; a field present but not a non-negative integer
  /// becomes unknown (a count that cannot be believed is not kept).
  void overwrite_from(const boost::json::object& usage);
  /// Whether input and output counts are both believable.
  bool believable() const noexcept { return input && output; }
  /// As conclave counts them: prompt = input + cache writes + cache reads (saturating),
  /// completion = output. All zero unless believable(), for the caller to estimate.
  usage to_usage() const noexcept;
};

/// The conclave error for an Anthropic error `type`: overloaded_error overloaded,
/// rate_limit_error rate_limited, authentication_error / permission_error auth_failed,
/// invalid_request_error / not_found_error / request_too_large / billing_error bad_request,
/// anything else (api_error, unknown words) provider_error.
error error_from_type(std::string_view type) noexcept;

}  // namespace conclave::anthropic
