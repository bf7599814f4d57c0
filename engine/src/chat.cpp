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
    case role::tool:
      return "tool";
  }
  return "user";
}

std::string chat_message::text() const {
  std::string out;
  for (const auto& p : parts) {
    if (const auto* t = std::get_if<text_part>(&p)) out += t->text;
  }
  return out;
}

std::vector<tool_call> chat_message::tool_calls() const {
  std::vector<tool_call> out;
  for (const auto& p : parts) {
    if (const auto* c = std::get_if<tool_call>(&p)) out.push_back(*c);
  }
  return out;
}

bool chat_message::has_tool_calls() const noexcept {
  for (const auto& p : parts) {
    if (std::holds_alternative<tool_call>(p)) return true;
  }
  return false;
}

std::size_t chat_message::size() const noexcept {
  std::size_t n = reasoning.size();
  for (const auto& p : parts) {
    if (const auto* t = std::get_if<text_part>(&p)) n += t->text.size();
    if (const auto* c = std::get_if<tool_call>(&p))
      n += c->id.size() + c->name.size() + c->arguments.size();
    if (const auto* r = std::get_if<tool_result>(&p)) n += r->call_id.size() + r->content.size();
  }
  return n;
}

chat_message chat_message::from_result(tool_result result) {
  chat_message m;
  m.who = role::tool;
  m.parts.emplace_back(std::move(result));
  return m;
}

chat_message assistant_message(std::string text, std::vector<tool_call> calls,
                               std::string reasoning) {
  chat_message m;
  m.who = role::assistant;
  if (!text.empty()) m.parts.emplace_back(text_part{std::move(text)});
  for (auto& c : calls) m.parts.emplace_back(std::move(c));
  m.reasoning = std::move(reasoning);
  return m;
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
    case stop_reason::paused:
      return "paused";
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
  if (w == "pause_turn") return stop_reason::paused;
  return stop_reason::unknown;
}

}  // namespace conclave
