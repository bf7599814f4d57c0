// What both request parsers (chat completions, Responses) read the same way: typed optional
// fields, the model name, the reasoning override and the conversation that becomes the
// question. Private to conclave_serve; inline, so it needs no .cpp of its own.
#pragma once

#include <conclave/engine/text.hpp>
#include <conclave/serve/openai_compat.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <climits>
#include <cmath>
#include <deque>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace conclave::serve::detail {

// Model text is UTF-8 as far as the engine knows; a JSON writer must never be handed less.
inline boost::json::string safe(std::string_view s) {
  return text::is_valid_utf8(s) ? boost::json::string(s)
                                : boost::json::string(text::to_valid_utf8(s));
}

inline boost::json::value null_if_empty(std::string_view s) {
  return s.empty() ? boost::json::value(nullptr) : boost::json::value(safe(s));
}

inline wire_error bad(std::string param, std::string message) {
  wire_error e;
  e.message = std::move(message);
  e.param = std::move(param);
  return e;
}

/// The member `key`, or nullptr when it is absent or null (clients send nulls for defaults).
inline const boost::json::value* member(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

inline std::optional<wire_error> read_bool(const boost::json::object& o, std::string_view key,
                                           bool& out) {
  const auto* v = member(o, key);
  if (!v) return std::nullopt;
  if (!v->is_bool()) return bad(std::string(key), "'" + std::string(key) + "' must be a boolean.");
  out = v->get_bool();
  return std::nullopt;
}

/// A positive integer (an integral double such as 100.0 too), at most INT_MAX.
inline std::optional<wire_error> read_tokens(const boost::json::object& o, std::string_view key,
                                             std::optional<int>& out) {
  const auto* v = member(o, key);
  if (!v) return std::nullopt;
  double d = 0;
  if (v->is_int64())
    d = static_cast<double>(v->get_int64());
  else if (v->is_uint64())
    d = static_cast<double>(v->get_uint64());
  else if (v->is_double())
    d = v->get_double();
  else
    d = -1;
  if (!(d >= 1 && d <= INT_MAX && std::floor(d) == d)) {
    return bad(std::string(key),
               "'" + std::string(key) + "' must be an integer between 1 and 2147483647.");
  }
  out = static_cast<int>(d);
  return std::nullopt;
}

inline std::optional<wire_error> read_temperature(const boost::json::object& o,
                                                  std::optional<double>& out) {
  const auto* v = member(o, "temperature");
  if (!v) return std::nullopt;
  if (!v->is_number() || !(v->to_number<double>() >= 0 && v->to_number<double>() <= 2)) {
    return bad("temperature", "'temperature' must be a number between 0 and 2.");
  }
  out = v->to_number<double>();
  return std::nullopt;
}

/// `reasoning_format` ("parsed", "raw", "think", "none", "hidden"), or `reasoning.exclude`.
inline std::optional<wire_error> read_reasoning_format(const boost::json::object& o,
                                                       std::optional<reasoning_style>& out) {
  if (const auto* v = member(o, "reasoning_format")) {
    const auto style = v->is_string() ? reasoning_style_from(v->get_string()) : std::nullopt;
    if (!style) {
      return bad("reasoning_format",
                 "'reasoning_format' must be \"parsed\", \"raw\", \"think\", \"none\" or "
                 "\"hidden\".");
    }
    out = style;
  } else if (const auto* r = member(o, "reasoning"); r && r->is_object()) {
    if (const auto* ex = member(r->get_object(), "exclude"); ex && ex->is_bool() && ex->get_bool())
      out = reasoning_style::none;
  }
  return std::nullopt;
}

/// `model`: present and a string (400), then a heavy model (404).
inline std::optional<wire_error> read_model(const boost::json::object& o, const model_limits& l,
                                            heavy_request& out) {
  const auto* v = member(o, "model");
  if (!v || !v->is_string() || v->get_string().empty())
    return bad("model", "'model' is required: conclave-heavy or conclave-heavy-N.");
  out.model = v->get_string();
  const auto agents = heavy_model_agents(out.model, l.max_agents);
  if (!agents) return model_not_found(out.model);
  out.agents = *agents;
  return std::nullopt;
}

/// A non-empty tools list (or a tool choice that names one) is refused: heavy mode runs its
/// own agents and never hands a tool call back to the client.
inline std::optional<wire_error> refuse_tools(const boost::json::object& o) {
  const auto message = [](std::string_view key) {
    return "'" + std::string(key) +
           "' is not supported: heavy mode answers with its own agents and does not call client "
           "tools. Send the request without tools.";
  };
  for (std::string_view key : {"tools", "functions"}) {
    const auto* v = member(o, key);
    if (v && !(v->is_array() && v->get_array().empty())) return bad(std::string(key), message(key));
  }
  for (std::string_view key : {"tool_choice", "function_call"}) {
    const auto* v = member(o, key);
    const bool harmless =
        v && v->is_string() && (v->get_string() == "none" || v->get_string() == "auto");
    if (v && !harmless) return bad(std::string(key), message(key));
  }
  return std::nullopt;
}

/// The text of a message's `content`: a string, or an array of parts whose types are in
/// `text_types` (joined by newlines); `refusal` parts are dropped; any other part (images,
/// audio, files) is refused, as is a part without text. `where` names the message.
inline std::optional<wire_error> content_text(const boost::json::value* c, std::string_view param,
                                              const std::string& where,
                                              std::initializer_list<std::string_view> text_types,
                                              std::string& out) {
  out.clear();
  if (!c) return std::nullopt;
  if (c->is_string()) {
    out = c->get_string();
    return std::nullopt;
  }
  if (!c->is_array())
    return bad(std::string(param), where + ": 'content' must be a string or an array of parts.");
  for (const auto& part : c->get_array()) {
    const auto* o = part.if_object();
    const auto* type = o ? member(*o, "type") : nullptr;
    if (!type || !type->is_string())
      return bad(std::string(param), where + ": every content part needs a string 'type'.");
    const std::string_view t = type->get_string();
    if (t == "refusal") continue;
    if (std::find(text_types.begin(), text_types.end(), t) == text_types.end()) {
      return bad(std::string(param),
                 where + " has a '" + std::string(t) + "' part: heavy mode takes text only.");
    }
    const auto* words = member(*o, "text");
    if (!words || !words->is_string())
      return bad(std::string(param), where + ": a '" + std::string(t) + "' part needs 'text'.");
    if (!out.empty() && !words->get_string().empty()) out += '\n';
    out += words->get_string();
  }
  return std::nullopt;
}

/// Turns in order; finish() makes the question: the last user message, after a bounded block of
/// the turns before it.
class conversation {
 public:
  void system(std::string text) {
    if (text.empty()) return;
    if (!system_.empty()) system_ += "\n\n";
    system_ += text;
  }
  void user(std::string text) {
    if (last_user_) earlier_.push_back("User: " + *last_user_);
    for (auto& a : pending_assistant_) earlier_.push_back("Assistant: " + std::move(a));
    pending_assistant_.clear();
    last_user_ = std::move(text);
  }
  void assistant(std::string text) {
    if (!text.empty()) pending_assistant_.push_back(std::move(text));
  }

  std::optional<wire_error> finish(const model_limits& l, std::string_view param,
                                   heavy_request& out) {
    if (!last_user_) return bad(std::string(param), "The request has no user message to answer.");
    if (text::is_blank(*last_user_))
      return bad(std::string(param), "The last user message is empty: there is nothing to answer.");
    if (last_user_->size() > l.max_question_chars || system_.size() > l.max_question_chars) {
      auto e = bad(std::string(param), "The question is longer than this server takes (" +
                                           std::to_string(l.max_question_chars) + " bytes).");
      e.code = "context_length_exceeded";
      return e;
    }
    // The latest turns matter most: keep them, newest first, while they fit.
    constexpr std::size_t per_turn = 4'000, all_turns = 16'000;
    std::deque<std::string> kept;
    std::size_t used = 0;
    for (auto it = earlier_.rbegin(); it != earlier_.rend() && used < all_turns; ++it) {
      std::string t = text::cut_marked(*it, std::min(per_turn, all_turns - used));
      used += t.size();
      kept.push_front(std::move(t));
    }
    out.system = std::move(system_);
    if (kept.empty()) {
      out.question = std::move(*last_user_);
      return std::nullopt;
    }
    out.question = "Earlier conversation:\n";
    if (kept.size() < earlier_.size())
      out.question +=
          "[" + std::to_string(earlier_.size() - kept.size()) + " older turns left out]\n";
    for (const auto& t : kept) out.question += t + "\n";
    out.question += "\nQuestion:\n" + *last_user_;
    return std::nullopt;
  }

 private:
  std::string system_;
  std::deque<std::string> earlier_;
  std::deque<std::string> pending_assistant_;
  std::optional<std::string> last_user_;
};

/// One message ({"role","content"}) into the conversation. System, developer, user and
/// assistant are taken; tool and function messages, and assistant tool calls, are refused (they
/// exist only with client tools). An assistant's `reasoning` / `reasoning_content` is dropped.
inline std::optional<wire_error> read_message(const boost::json::value& m, std::string_view param,
                                              const std::string& where,
                                              std::initializer_list<std::string_view> text_types,
                                              conversation& conv) {
  const auto* o = m.if_object();
  const auto* r = o ? member(*o, "role") : nullptr;
  const std::string p(param);
  if (!r || !r->is_string()) return bad(p, where + " needs a string 'role'.");
  const std::string_view role = r->get_string();
  if (role == "tool" || role == "function") {
    return bad(p, where + " is a '" + std::string(role) +
                      "' message: heavy mode does not call client tools.");
  }
  if (role != "system" && role != "developer" && role != "user" && role != "assistant") {
    return bad(p, where + " has role '" + std::string(role) +
                      "': use system, developer, user or assistant.");
  }
  const auto* calls = member(*o, "tool_calls");
  if ((calls && !(calls->is_array() && calls->get_array().empty())) || member(*o, "function_call"))
    return bad(p, where + " carries tool calls: heavy mode does not call client tools.");
  std::string words;
  if (auto e = content_text(member(*o, "content"), param, where, text_types, words)) return e;
  if (role == "user")
    conv.user(std::move(words));
  else if (role == "assistant")
    conv.assistant(std::move(words));
  else
    conv.system(std::move(words));
  return std::nullopt;
}

}  // namespace conclave::serve::detail
