#include <conclave/engine/chat.hpp>

namespace conclave {

const char* to_string(role r) noexcept {
  switch (r) {
    case role::system:
      return "system";
    case role::user:
      return "user";
    case role::assistant:
      return "assistant";
  }
  return "user";
}

const char* to_string(stop_reason r) noexcept {
  switch (r) {
    case stop_reason::unknown:
      return "unknown";
    case stop_reason::end:
      return "end";
    case stop_reason::length:
      return "length";
    case stop_reason::tool_use:
      return "tool_use";
    case stop_reason::content_filter:
      return "content_filter";
  }
  return "unknown";
}

stop_reason stop_reason_from(std::string_view w) noexcept {
  if (w == "stop" || w == "end_turn" || w == "stop_sequence" || w == "eos") return stop_reason::end;
  if (w == "length" || w == "max_tokens" || w == "model_context_window_exceeded") {
    return stop_reason::length;
  }
  if (w == "tool_calls" || w == "function_call" || w == "tool_use") return stop_reason::tool_use;
  if (w == "content_filter" || w == "refusal") return stop_reason::content_filter;
  return stop_reason::unknown;
}

}  // namespace conclave
