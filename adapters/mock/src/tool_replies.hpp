// The OpenAI wire shapes of a tool turn: a whole reply with `message.tool_calls`, and the SSE
// chunks that stream the calls as OpenAI does (or as compatible servers do).
#pragma once

#include <conclave/engine/chat.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace conclave::mock::replies {

/// A `chat.completion` whose message is `content: null` and `tool_calls`.
std::string tool_completion(std::string_view id, std::string_view model,
                            const std::vector<tool_call>& calls, const usage& u,
                            std::string_view finish_reason);

/// How the calls' fragments are streamed.
struct tool_stream_style {
  bool with_index = true;  ///< false: no `index`; a new `id` opens a call, the rest continue it
  bool late_name = false;  ///< the name comes in a call's second fragment, not its first
};

/// The SSE events of a streamed tool turn, from the role-only opening chunk to the chunk with
/// `finish_reason` (usage and [DONE] are the caller's). Per call: an opening fragment (`id`,
/// `type`, `function.name`, `arguments: ""`), then its arguments in up to three pieces.
std::vector<std::string> tool_chunk_events(std::string_view id, std::string_view model,
                                           const std::vector<tool_call>& calls,
                                           tool_stream_style style, std::string_view finish_reason);

/// `s` in up to three non-empty pieces, cut at a third and two thirds (mid-token, but never
/// inside a UTF-8 character).
std::vector<std::string_view> split_in_three(std::string_view s);

}  // namespace conclave::mock::replies
