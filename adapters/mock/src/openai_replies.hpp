// The OpenAI chat-completions replies the mock sends: JSON bodies and SSE chunks.
#pragma once

#include <conclave/engine/chat.hpp>

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace conclave::mock::replies {

std::string completion(std::string_view id, std::string_view model, std::string_view content,
                       const usage& u, std::string_view finish_reason = "stop");

/// The same with any assistant `message` object (a tool turn's, with `tool_calls`).
std::string completion_of(std::string_view id, std::string_view model, boost::json::object message,
                          const usage& u, std::string_view finish_reason);

/// One `chat.completion.chunk` as an SSE event ("data: {...}\n\n"). Empty `content` with
/// `first` sends the role-only opening delta; a non-empty `finish_reason` closes the choice.
std::string chunk_event(std::string_view id, std::string_view model, std::string_view content,
                        bool first, std::string_view finish_reason);

/// The include_usage chunk: `choices: []` and the usage.
std::string usage_event(std::string_view id, std::string_view model, const usage& u);

std::string done_event();

/// {"error": {"message", "type", "param": null, "code"}}
std::string error_body(std::string_view message, std::string_view type, std::string_view code);

std::string models_list(std::string_view model);

/// `s` as a JSON string literal, quotes and escapes included.
std::string json_string(std::string_view s);

}  // namespace conclave::mock::replies
