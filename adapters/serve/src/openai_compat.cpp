// Chat completions wire: errors, model names, the request parser, the chunks and the reply.
#include "request_fields.hpp"

#include <conclave/engine/chat.hpp>
#include <conclave/engine/events.hpp>
#include <conclave/engine/report.hpp>
#include <conclave/engine/text.hpp>
#include <conclave/serve/openai_compat.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

namespace conclave::serve {
namespace json = boost::json;
using detail::bad;
using detail::member;
using detail::null_if_empty;
using detail::safe;

namespace {

std::string sse(const json::value& v) { return "data: " + json::serialize(v) + "\n\n"; }

json::object model_object(std::string_view name, std::int64_t created) {
  return {{"id", safe(name)}, {"object", "model"}, {"created", created}, {"owned_by", "conclave"}};
}

json::object chunk_object(std::string_view id, std::string_view model, std::int64_t created,
                          json::array choices) {
  return {{"id", safe(id)},
          {"object", "chat.completion.chunk"},
          {"created", created},
          {"model", safe(model)},
          {"choices", std::move(choices)}};
}

json::object usage_object(std::int64_t prompt, std::int64_t completion, std::int64_t cached) {
  json::object u{{"prompt_tokens", prompt},
                 {"completion_tokens", completion},
                 {"total_tokens", saturating_add(prompt, completion)}};
  if (cached > 0) u["prompt_tokens_details"] = json::object{{"cached_tokens", cached}};
  return u;
}

}  // namespace

std::optional<reasoning_style> reasoning_style_from(std::string_view name) noexcept {
  if (name == "parsed") return reasoning_style::fields;
  if (name == "raw" || name == "think" || name == "think_tags") return reasoning_style::think_tags;
  if (name == "none" || name == "hidden") return reasoning_style::none;
  return std::nullopt;
}

std::string wire_error::body() const {
  return json::serialize(json::object{{"error",
                                       {{"message", safe(message)},
                                        {"type", safe(type)},
                                        {"param", null_if_empty(param)},
                                        {"code", null_if_empty(code)}}}});
}

wire_error model_not_found(std::string_view name) {
  return wire_error{.status = 404,
                    .message = "The model '" + text::quote(name, 200) +
                               "' does not exist: use conclave-heavy or conclave-heavy-N.",
                    .param = "model",
                    .code = "model_not_found"};
}

std::optional<int> heavy_model_agents(std::string_view name, int max_agents) noexcept {
  if (name == heavy_model_name) return 0;
  if (!name.starts_with(heavy_model_name) || name.size() < heavy_model_name.size() + 2 ||
      name[heavy_model_name.size()] != '-')
    return std::nullopt;
  const std::string_view digits = name.substr(heavy_model_name.size() + 1);
  if (digits.front() < '1' || digits.front() > '9') return std::nullopt;  // no sign, no 0 first
  int n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || end != digits.data() + digits.size() || n > max_agents)
    return std::nullopt;
  return n;
}

std::string models_json(int max_agents, std::int64_t created) {
  json::array data;
  data.push_back(model_object(heavy_model_name, created));
  for (int n = 1; n <= max_agents; ++n)
    data.push_back(model_object(std::string(heavy_model_name) + "-" + std::to_string(n), created));
  return json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
}

std::string model_json(std::string_view name, std::int64_t created) {
  return json::serialize(model_object(name, created));
}

std::variant<heavy_request, wire_error> parse_chat_request(std::string_view body,
                                                           const model_limits& limits) {
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec);
  if (ec) return bad("", "The body is not valid JSON: " + ec.message() + ".");
  const auto* o = doc.if_object();
  if (!o) return bad("", "The body must be a JSON object.");

  heavy_request out;
  if (auto e = detail::refuse_tools(*o)) return *e;
  if (const auto* n = member(*o, "n")) {
    if (!n->is_number() || n->to_number<double>() != 1)
      return bad("n", "'n' must be 1: heavy mode gives one answer per request.");
  }
  if (auto e = detail::read_bool(*o, "stream", out.stream)) return *e;
  if (const auto* so = member(*o, "stream_options")) {
    if (!so->is_object()) return bad("stream_options", "'stream_options' must be an object.");
    bool include = false;
    if (auto e = detail::read_bool(so->get_object(), "include_usage", include)) {
      e->param = "stream_options.include_usage";
      return *e;
    }
    out.include_usage = out.stream && include;
  }
  if (auto e = detail::read_temperature(*o, out.temperature)) return *e;
  if (auto e = detail::read_tokens(*o, "max_tokens", out.max_output_tokens)) return *e;
  // The newer name wins when a client sends both.
  if (auto e = detail::read_tokens(*o, "max_completion_tokens", out.max_output_tokens)) return *e;
  if (auto e = detail::read_reasoning_format(*o, out.reasoning)) return *e;

  const auto* messages = member(*o, "messages");
  if (!messages || !messages->is_array() || messages->get_array().empty())
    return bad("messages", "'messages' must be a non-empty array of messages.");
  detail::conversation conv;
  const auto& list = messages->get_array();
  for (std::size_t i = 0; i < list.size(); ++i)
    if (auto e = detail::read_message(list[i], "messages", "messages[" + std::to_string(i) + "]",
                                      {"text"}, conv))
      return *e;
  // A well-formed request for a model we do not serve: 404 after the 400s, as OpenAI orders them.
  if (auto e = detail::read_model(*o, limits, out)) return *e;
  if (auto e = conv.finish(limits, "messages", out)) return *e;
  return out;
}

chat_stream::chat_stream(std::string id, std::string model, std::int64_t created,
                         reasoning_style style)
    : id_(std::move(id)), model_(std::move(model)), created_(created), style_(style) {}

std::string chat_stream::frame(json::object delta, std::string_view finish_reason) const {
  json::object choice{{"index", 0},
                      {"delta", std::move(delta)},
                      {"logprobs", nullptr},
                      {"finish_reason", null_if_empty(finish_reason)}};
  return sse(chunk_object(id_, model_, created_, json::array{std::move(choice)}));
}

std::string chat_stream::role() { return frame({{"role", "assistant"}, {"content", ""}}, ""); }

std::string chat_stream::reasoning(std::string_view t) {
  if (t.empty() || style_ == reasoning_style::none) return "";
  if (style_ == reasoning_style::fields) {
    return frame({{"reasoning", safe(t)}, {"reasoning_content", safe(t)}}, "");
  }
  if (content_began_) return "";  // <think> opens once, before the answer
  std::string words = think_open_ ? std::string(t) : "<think>\n" + std::string(t);
  think_open_ = true;
  return frame({{"content", safe(words)}}, "");
}

std::string chat_stream::content(std::string_view t) {
  std::string words;
  if (think_open_) words = "\n</think>\n\n";
  think_open_ = false;
  words += t;
  if (words.empty()) return "";
  content_began_ = true;
  return frame({{"content", safe(words)}}, "");
}

std::string chat_stream::finish(std::string_view reason) {
  std::string out = think_open_ ? content("") : "";
  return out + frame({}, reason.empty() ? "stop" : reason);
}

std::string chat_stream::usage(std::int64_t prompt, std::int64_t completion) {
  conclave::usage u;
  u.prompt_tokens = prompt;
  u.completion_tokens = completion;
  return usage(u);
}

std::string chat_stream::usage(const conclave::usage& u) {
  auto o = chunk_object(id_, model_, created_, json::array{});
  o["usage"] = usage_object(u.prompt_tokens, u.completion_tokens, u.cache_read_tokens);
  return sse(o);
}

std::string chat_stream::error(const wire_error& e) { return "data: " + e.body() + "\n\n"; }
std::string chat_stream::done() { return "data: [DONE]\n\n"; }
std::string chat_stream::keepalive() { return ": keep-alive\n\n"; }

std::string chat_completion(std::string_view id, std::string_view model, std::int64_t created,
                            std::string_view answer, std::string_view reasoning,
                            reasoning_style style, std::string_view finish_reason,
                            std::int64_t prompt_tokens, std::int64_t completion_tokens) {
  json::object message{{"role", "assistant"}, {"content", safe(answer)}, {"refusal", nullptr}};
  if (!reasoning.empty() && style == reasoning_style::fields) {
    message["reasoning"] = safe(reasoning);
    message["reasoning_content"] = safe(reasoning);
  } else if (!reasoning.empty() && style == reasoning_style::think_tags) {
    message["content"] =
        safe("<think>\n" + std::string(reasoning) + "\n</think>\n\n" + std::string(answer));
  }
  json::object choice{{"index", 0},
                      {"message", std::move(message)},
                      {"logprobs", nullptr},
                      {"finish_reason", safe(finish_reason.empty() ? "stop" : finish_reason)}};
  return json::serialize(
      json::object{{"id", safe(id)},
                   {"object", "chat.completion"},
                   {"created", created},
                   {"model", safe(model)},
                   {"choices", json::array{std::move(choice)}},
                   {"usage", usage_object(prompt_tokens, completion_tokens, 0)}});
}

// ---- progress lines ------------------------------------------------------------------------

namespace {

// Past an escape sequence starting at s[i] == ESC (or at the C1 CSI's parameters): CSI runs to
// its final byte, OSC and the other string sequences to BEL or ST, anything else is ESC + one.
std::size_t skip_escape(std::string_view s, std::size_t i, bool csi_params = false) {
  auto csi = [&](std::size_t k) {
    while (k < s.size() && s[k] >= 0x20 && s[k] <= 0x3F) ++k;  // parameters, intermediates
    return k < s.size() && s[k] >= 0x40 && s[k] <= 0x7E ? k + 1 : k;
  };
  if (csi_params) return csi(i);
  if (i + 1 >= s.size()) return s.size();
  const char kind = s[i + 1];
  if (kind == '[') return csi(i + 2);
  if (kind == ']' || kind == 'P' || kind == 'X' || kind == '^' || kind == '_') {
    for (std::size_t k = i + 2; k < s.size(); ++k) {
      if (s[k] == '\a' || s[k] == '\n') return k + 1;
      if (s[k] == '\x1B') return k + 1 < s.size() && s[k + 1] == '\\' ? k + 2 : k;
    }
    return s.size();
  }
  // ESC, intermediates (charset designations: ESC ( B) and a final byte; before anything else
  // (a UTF-8 lead) only ESC goes.
  std::size_t k = i + 1;
  while (k < s.size() && s[k] >= 0x20 && s[k] <= 0x2F) ++k;
  return k < s.size() && s[k] >= 0x30 && s[k] < 0x7F ? k + 1 : std::max(k, i + 1);
}

std::string who(const event& e, std::size_t total) {
  std::string s = e.agent ? "Agent " + std::to_string(*e.agent + 1) : std::string("An agent");
  if (e.agent && total > 0) s += "/" + std::to_string(total);
  return s;
}

// "head: detail\n", or "head.\n" when the detail is blank.
std::string line(std::string head, std::string_view detail, std::size_t max_bytes = 160) {
  const std::string d = one_line(detail, max_bytes);
  return d.empty() ? head + ".\n" : head + ": " + d + "\n";
}

// The first line of a decision that says something (markdown heading marks dropped).
std::string_view first_line(std::string_view s) {
  while (!s.empty()) {
    const auto end = s.find('\n');
    std::string_view l = s.substr(0, end);
    while (!l.empty() && (l.front() == '#' || l.front() == ' ' || l.front() == '\t'))
      l.remove_prefix(1);
    if (!text::is_blank(l)) return l;
    if (end == std::string_view::npos) break;
    s.remove_prefix(end + 1);
  }
  return {};
}

}  // namespace

std::string one_line(std::string_view in, std::size_t max_bytes) {
  const std::string s = text::to_valid_utf8(in);
  std::string out;
  bool gap = false;  // a space is owed before the next visible character
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0u;
    const auto third = i + 2 < s.size() ? static_cast<unsigned char>(s[i + 2]) : 0u;
    std::size_t len = 1;
    bool drop = false, space = false;
    if (c == 0x1B) {
      i = skip_escape(s, i);
      continue;
    }
    if (c == 0xC2 && next == 0x9B) {  // C1 CSI
      i = skip_escape(s, i + 2, true);
      continue;
    }
    if (c == '\n' || c == '\t' || c == '\v' || c == '\f' || c == ' ') {
      space = true;
    } else if (c < 0x20 || c == 0x7F) {
      drop = true;  // CR, BEL, backspace...
    } else if (c == 0xC2 && next >= 0x80 && next <= 0x9F) {
      len = 2;
      space = next == 0x85, drop = next != 0x85;  // NEL is a line end, the rest C1 controls
    } else if (c == 0xE2 && next == 0x80 && (third == 0xA8 || third == 0xA9)) {
      len = 3, space = true;  // line and paragraph separators
    } else if (c == 0xE2 && ((next == 0x80 && third >= 0xAA && third <= 0xAE) ||
                             (next == 0x81 && third >= 0xA6 && third <= 0xA9))) {
      len = 3, drop = true;  // bidirectional overrides and isolates could reorder the line
    } else {
      len = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    }
    if (space) gap = !out.empty();
    if (!space && !drop) {
      if (gap) out += ' ';
      gap = false;
      out.append(s, i, len);
    }
    i += len;
  }
  if (out.size() <= max_bytes) return out;
  const std::string_view ellipsis = "\xE2\x80\xA6";
  if (max_bytes < ellipsis.size()) return std::string(text::utf8_prefix(out, max_bytes));
  std::string cut(text::utf8_prefix(out, max_bytes - ellipsis.size()));
  while (!cut.empty() && cut.back() == ' ') cut.pop_back();
  return cut + std::string(ellipsis);
}

std::optional<std::string> progress_line(const event& e, std::size_t total,
                                         std::string_view sub_question) {
  const std::string n = std::to_string(e.count);
  switch (e.kind) {
    case event_kind::decomposed: {
      std::string out = line(
          "Decomposed into " + n + (e.count == 1 ? " sub-question" : " sub-questions"), e.text);
      if (!e.run) return out;
      // A plan may hold thousands of subtasks; the reasoning stream lists the first ones.
      constexpr std::size_t listed = 50;
      const auto& qs = e.run->sub_questions;
      for (std::size_t k = 0; k < qs.size() && k < listed; ++k)
        out += "  " + std::to_string(k + 1) + ". " + one_line(qs[k], 100) + "\n";
      if (qs.size() > listed) out += "  (and " + std::to_string(qs.size() - listed) + " more)\n";
      return out;
    }
    case event_kind::started:
      // A call per turn and per attempt: only the first says the agent began.
      if (e.attempt > 1 || e.turn > 1) return std::nullopt;
      return line(who(e, total) + " started", sub_question, 100);
    case event_kind::retrying:
      return line(who(e, total) + " retrying (attempt " + std::to_string(e.attempt) + ")", e.text);
    case event_kind::tool_call_started:
      return line(who(e, total) + " calls a tool", e.tool, 80);
    case event_kind::tool_call_finished:
      if (e.text.empty()) return std::nullopt;
      return line(who(e, total) + " tool " + one_line(e.tool, 80) + " failed", e.text);
    case event_kind::completed: {
      const bool cut = e.stop == stop_reason::length;
      return line(who(e, total) + (cut ? " done (truncated)" : " done"),
                  e.report ? first_line(e.report->answer) : std::string_view{});
    }
    case event_kind::failed:
      return line(who(e, total) + " failed", !e.text.empty() ? std::string_view(e.text)
                                             : e.report ? std::string_view(e.report->diag.message)
                                                        : std::string_view{});
    case event_kind::timed_out:
      return line(who(e, total) + " failed (timeout)", {});
    case event_kind::cancelled:
      return line(who(e, total) + " cancelled", {});
    case event_kind::stopped:
      return line(who(e, total) + " stopped, partial answer kept", e.text);
    case event_kind::skipped:
      return line(who(e, total) + " skipped", e.text);
    case event_kind::judged: {
      std::string head = who(e, total) + " judged " + one_line(e.text, 40);
      if (e.text == "pass" || !e.report) return head + ".\n";
      return line(std::move(head), first_line(e.report->critique));
    }
    case event_kind::synthesis_started:
      if (e.text == "vote") return "Voting on " + n + " answers.\n";
      if (e.text == "select") return "Selecting the best of " + n + " answers.\n";
      return "Combining " + n + (e.count == 1 ? " decision.\n" : " decisions.\n");
    case event_kind::budget_exhausted:
      return line("Budget reached, stopping", e.text);
    case event_kind::finished:
      if (e.text.empty() || e.text == "ok") return std::nullopt;
      return line("Run ended", e.text, 80);
    case event_kind::queued:
    case event_kind::progress:
    case event_kind::combined:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace conclave::serve
