// Reading an Anthropic Messages request into the mock's incoming_request: the top-level
// fields, the messages (their blocks in messages_blocks.cpp), the tools, tool_choice and
// thinking, then the pairing of tool_use and tool_result blocks that Anthropic checks. The 400s
// name the field as Anthropic does ("messages.1.content.0.input: Field required").
#include "messages_blocks.hpp"

#include <conclave/engine/text.hpp>
#include <conclave/mock/anthropic_request.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_set>

namespace json = boost::json;

namespace conclave::mock {
namespace {

bool valid_tool_name(std::string_view n) {
  if (n.empty() || n.size() > 128) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

using detail::string_field;

// `system`: a string or text blocks, as one system message first.
bool read_system(const json::value& s, messages_request& out, std::string& why) {
  std::string words;
  bool cached = false;
  if (s.is_string()) {
    words = std::string(s.get_string());
  } else if (s.is_array()) {
    for (std::size_t k = 0; k < s.get_array().size(); ++k) {
      const auto* bo = s.get_array()[k].if_object();
      const auto* type = bo ? string_field(*bo, "type") : nullptr;
      const auto* t = bo ? string_field(*bo, "text") : nullptr;
      if (!type || *type != "text" || !t) {
        why =
            "system." + std::to_string(k) + ": Input should be a text block {type: \"text\", text}";
        return false;
      }
      if (!words.empty()) words += '\n';
      words.append(t->data(), t->size());
      cached = cached || bo->contains("cache_control");
    }
  } else {
    why = "system: Input should be a valid string or list of text blocks";
    return false;
  }
  out.in.messages.emplace_back(role::system, std::move(words));
  if (cached) out.cached_messages = 1;
  return true;
}

bool read_tools(const json::value& v, messages_request& out, std::string& why) {
  if (!v.is_array()) {
    why = "tools: Input should be a valid list";
    return false;
  }
  if (v.get_array().size() > max_tools) {
    why = "tools: at most " + std::to_string(max_tools) + " tools";
    return false;
  }
  for (std::size_t k = 0; k < v.get_array().size(); ++k) {
    const std::string path = "tools." + std::to_string(k);
    const auto* to = v.get_array()[k].if_object();
    const auto* type = to ? to->if_contains("type") : nullptr;
    if (!to ||
        (type && !type->is_null() && (!type->is_string() || type->get_string() != "custom"))) {
      why = path + ": the mock plays only custom tools ({name, description?, input_schema})";
      return false;
    }
    const auto* name = string_field(*to, "name");
    if (!name || !valid_tool_name(*name)) {
      why = path + ".custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'";
      return false;
    }
    const auto* schema = to->if_contains("input_schema");
    if (!schema || !schema->is_object()) {
      why = path + ".custom.input_schema: Field required";
      return false;
    }
    tool_spec spec{std::string(*name), "", json::serialize(*schema)};
    if (const auto* d = to->if_contains("description"); d && !d->is_null()) {
      if (!d->is_string()) {
        why = path + ".custom.description: Input should be a valid string";
        return false;
      }
      spec.description = std::string(d->get_string());
    }
    for (const auto& seen : out.in.tools) {
      if (seen.name == spec.name) {
        why = "tools: Tool names must be unique.";
        return false;
      }
    }
    out.in.tools.push_back(std::move(spec));
  }
  return true;
}

bool read_tool_choice(const json::value& v, messages_request& out, std::string& why) {
  const auto* o = v.if_object();
  const auto* type = o ? string_field(*o, "type") : nullptr;
  auto& choice = out.in.choice;
  if (type && *type == "auto") {
    choice.how = tool_choice::mode::automatic;
  } else if (type && *type == "any") {
    choice.how = tool_choice::mode::required;
  } else if (type && *type == "none") {
    choice.how = tool_choice::mode::none;
  } else if (type && *type == "tool" && string_field(*o, "name")) {
    choice = {tool_choice::mode::named, std::string(*string_field(*o, "name"))};
  } else {
    why =
        "tool_choice: Input should be {type: \"auto\" | \"any\" | \"none\"} or {type: \"tool\", "
        "name}";
    return false;
  }
  if (const auto* d = o->if_contains("disable_parallel_tool_use"); d && !d->is_null()) {
    if (!d->is_bool()) {
      why = "tool_choice.disable_parallel_tool_use: Input should be a valid boolean";
      return false;
    }
    out.in.parallel_tool_calls = !d->get_bool();
  }
  const bool must_call =
      choice.how == tool_choice::mode::required || choice.how == tool_choice::mode::named;
  if (must_call && out.in.tools.empty()) {
    why = "tool_choice: may only be specified while providing tools";
    return false;
  }
  if (choice.how == tool_choice::mode::named &&
      std::none_of(out.in.tools.begin(), out.in.tools.end(),
                   [&](const tool_spec& t) { return t.name == choice.name; })) {
    why = "tool_choice.name: tool '" + text::quote(choice.name, 80) + "' is not among the tools";
    return false;
  }
  return true;
}

std::optional<std::int64_t> integer(const json::value* v) {
  if (v && v->is_int64()) return v->get_int64();
  if (v && v->is_uint64() && v->get_uint64() <= INT64_MAX) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

bool read_thinking(const json::value& v, messages_request& out, std::string& why) {
  const auto* o = v.if_object();
  const auto* type = o ? string_field(*o, "type") : nullptr;
  if (type && *type == "disabled") return true;
  if (!type || *type != "enabled") {
    why = "thinking: Input should be {type: \"enabled\", budget_tokens} or {type: \"disabled\"}";
    return false;
  }
  const auto budget = integer(o->if_contains("budget_tokens"));
  if (!budget) {
    why = "thinking.enabled.budget_tokens: Field required";
    return false;
  }
  if (*budget < 1024) {
    why = "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
    return false;
  }
  if (*budget >= out.max_tokens) {
    why = "`max_tokens` must be greater than `thinking.budget_tokens`";
    return false;
  }
  out.thinking_enabled = true;
  out.thinking_budget = *budget;
  return true;
}

std::string joined(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + text::quote(id, 64);
  return out;
}

// Every tool_use answered in the next message, every tool_result answering the previous one.
// Ids are matched through hash sets: a hostile request of 80,000 tool_use blocks answered in
// reverse order would otherwise hold the mock's one thread for seconds (quadratic search).
bool check_pairing(const std::vector<wire_turn>& turns, std::string& why) {
  using id_set = std::unordered_set<std::string_view>;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    const auto& t = turns[i];
    if (!t.tool_use_ids.empty() && i + 1 < turns.size()) {
      const auto& results = turns[i + 1].tool_result_ids;
      const id_set answers(results.begin(), results.end());
      std::vector<std::string> missing;
      for (const auto& id : t.tool_use_ids) {
        if (!answers.contains(id) && missing.size() < 10) missing.push_back(id);  // a few say it
      }
      if (!missing.empty()) {
        why = "messages." + std::to_string(i) +
              ": `tool_use` ids were found without `tool_result` blocks immediately after: " +
              joined(missing) +
              ". Each `tool_use` block must have a corresponding `tool_result` block in the next "
              "message.";
        return false;
      }
    }
    if (t.tool_result_ids.empty()) continue;
    const id_set asked =
        i > 0 ? id_set(turns[i - 1].tool_use_ids.begin(), turns[i - 1].tool_use_ids.end())
              : id_set{};
    for (const auto& id : t.tool_result_ids) {
      if (!asked.contains(id)) {
        why = "messages." + std::to_string(i) +
              ": unexpected `tool_use_id` found in `tool_result` blocks: " + text::quote(id, 64) +
              ". Each `tool_result` block must have a corresponding `tool_use` block in the "
              "previous message.";
        return false;
      }
    }
  }
  return true;
}

}  // namespace

bool parse_messages_request(std::string_view body, messages_request& out, std::string& why) {
  boost::system::error_code ec;
  alignas(std::max_align_t) unsigned char scratch[8192];
  json::monotonic_resource memory(scratch, sizeof scratch);
  json::value v = json::parse(body, ec, json::storage_ptr(&memory));
  if (ec || !v.is_object()) {
    why = "The request body is not valid JSON: " + (ec ? ec.message() : "not an object");
    return false;
  }
  const auto& o = v.get_object();
  const auto* model = string_field(o, "model");
  if (!model) {
    why = "model: Field required";
    return false;
  }
  out.in.model = std::string(*model);
  const auto* max_tokens = o.if_contains("max_tokens");
  if (!max_tokens) {
    why = "max_tokens: Field required";
    return false;
  }
  const auto cap = integer(max_tokens);
  if (!cap || *cap < 1) {
    why = "max_tokens: Input should be an integer greater than or equal to 1";
    return false;
  }
  out.max_tokens = *cap;
  const auto* messages = o.if_contains("messages");
  if (!messages) {
    why = "messages: Field required";
    return false;
  }
  if (!messages->is_array() || messages->get_array().empty()) {
    why = "messages: at least one message is required";
    return false;
  }
  if (const auto* s = o.if_contains("system"); s && !s->is_null()) {
    if (!read_system(*s, out, why)) return false;
  }
  const auto& list = messages->get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    wire_turn turn;
    bool cached = false;
    if (!detail::read_turn(list[i], i, i + 1 == list.size(), out.in.messages, turn, cached, why)) {
      return false;
    }
    if (cached) out.cached_messages = out.in.messages.size();
    out.turns.push_back(std::move(turn));
  }
  if (!check_pairing(out.turns, why)) return false;
  if (const auto* s = o.if_contains("stream"); s && !s->is_null()) {
    if (!s->is_bool()) {
      why = "stream: Input should be a valid boolean";
      return false;
    }
    out.in.stream = s->get_bool();
  }
  if (const auto* t = o.if_contains("temperature"); t && !t->is_null()) {
    const auto* d = t->if_double();
    const auto i = integer(t);
    const double value = d ? *d : i ? static_cast<double>(*i) : -1.0;
    if ((!d && !i) || value < 0.0 || value > 1.0) {
      why = "temperature: Input should be a number between 0 and 1";
      return false;
    }
    out.temperature = value;
  }
  if (const auto* t = o.if_contains("tools"); t && !t->is_null()) {
    if (!read_tools(*t, out, why)) return false;
  }
  if (const auto* tc = o.if_contains("tool_choice"); tc && !tc->is_null()) {
    if (!read_tool_choice(*tc, out, why)) return false;
  }
  if (const auto* th = o.if_contains("thinking"); th && !th->is_null()) {
    if (!read_thinking(*th, out, why)) return false;
  }
  return true;
}

}  // namespace conclave::mock
