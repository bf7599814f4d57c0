// Reading an Anthropic Messages request (POST /v1/messages) as the official SDK and conclave
// send it, decided with no socket: the conversation goes into the same incoming_request the
// OpenAI side fills, so the scenarios and the tool play are shared; what only this wire has
// (max_tokens, thinking blocks and where they stood) is kept beside it.
#pragma once

#include <conclave/mock/scenario.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::mock {

/// A `thinking` or `redacted_thinking` block of an assistant turn, as the client sent it back.
struct thinking_block {
  std::size_t position = 0;  ///< its index in the turn's `content`
  bool redacted = false;     ///< `redacted_thinking` (then `data`), else `thinking`
  std::string thinking;      ///< the reasoning text
  std::string signature;     ///< what the server signed it with
  std::string data;          ///< a redacted block's opaque data
};

/// One entry of the request's `messages`, as sent: who speaks, its content blocks' types in
/// order ("text" for string content), and its thinking blocks. The replay check reads these.
struct wire_turn {
  role who = role::user;
  std::vector<std::string> block_types;
  std::vector<thinking_block> thinking;
  std::vector<std::string> tool_use_ids;     ///< assistant `tool_use` blocks' ids, in order
  std::vector<std::string> tool_result_ids;  ///< user `tool_result` blocks' `tool_use_id`s
};

struct messages_request {
  /// The conversation: `system` first (one system message), each assistant `tool_use` a
  /// tool_call part, each `tool_result` a tool message in order (text beside the results is
  /// added to the last of them, so it does not start a new user turn), thinking blocks in the
  /// assistant message's `replay` (wire "anthropic"), `disable_parallel_tool_use` as
  /// parallel_tool_calls false.
  incoming_request in;
  std::int64_t max_tokens = 0;        ///< required, at least 1
  std::optional<double> temperature;  ///< 0..1 when sent
  bool thinking_enabled = false;      ///< `thinking: {type: "enabled", budget_tokens}`
  std::int64_t thinking_budget = 0;   ///< its budget_tokens (1024 <= budget < max_tokens)
  std::vector<wire_turn> turns;       ///< one per entry of `messages`
  /// How many leading messages of `in.messages` a `cache_control` breakpoint covers (the
  /// mock reports them as read from the prompt cache); 0: no breakpoint.
  std::size_t cached_messages = 0;
};

/// Parses a Messages request body. On failure `why` is the 400's message, worded as Anthropic
/// words it where the mock knows how ("max_tokens: Field required", "messages.1.content.0:
/// unexpected `tool_use_id` found in `tool_result` blocks: ...").
bool parse_messages_request(std::string_view body, messages_request& out, std::string& why);

}  // namespace conclave::mock
