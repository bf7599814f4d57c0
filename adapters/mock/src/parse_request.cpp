// Reading a chat-completions request as conclave and the openai SDK send it: plain turns,
// assistant tool calls (content null or absent), `tool` results, content as text parts, and
// the `tools`, `tool_choice` and `parallel_tool_calls` fields. Every bad shape says why, for
// the 400's message.
#include <conclave/engine/text.hpp>
#include <conclave/mock/scenario.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace json = boost::json;

namespace conclave::mock {
namespace {

bool valid_tool_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// `content` as text: a string, or an array of parts whose `text` parts are joined (other part
// types, e.g. images, are accepted and ignored).
bool read_content(const json::value& c, std::string& out, std::string& why) {
  if (c.is_string()) {
    out = std::string(c.get_string());
    return true;
  }
  if (!c.is_array()) {
    why = "message content must be a string or an array of content parts";
    return false;
  }
  for (const auto& part : c.get_array()) {
    const auto* po = part.if_object();
    const auto* type = po ? po->if_contains("type") : nullptr;
    if (!type || !type->is_string()) {
      why = "each content part needs a string 'type'";
      return false;
    }
    if (type->get_string() != "text") continue;
    const auto* text = po->if_contains("text");
    if (!text || !text->is_string()) {
      why = "a 'text' content part needs a string 'text'";
      return false;
    }
    out.append(text->get_string().data(), text->get_string().size());
  }
  return true;
}

bool read_tool_calls(const json::value& v, chat_message& msg, std::string& why) {
  if (!v.is_array() || v.get_array().empty()) {
    why = "'tool_calls' must be a non-empty array";
    return false;
  }
  for (const auto& c : v.get_array()) {
    const auto* co = c.if_object();
    const auto* id = co ? co->if_contains("id") : nullptr;
    const auto* fn = co ? co->if_contains("function") : nullptr;
    const auto* fo = fn ? fn->if_object() : nullptr;
    const auto* name = fo ? fo->if_contains("name") : nullptr;
    const auto* args = fo ? fo->if_contains("arguments") : nullptr;
    if (!id || !id->is_string() || !name || !name->is_string() || !args || !args->is_string()) {
      why =
          "each tool call needs a string 'id' and a 'function' with string 'name' and "
          "'arguments'";
      return false;
    }
    if (const auto* t = co->if_contains("type");
        t && (!t->is_string() || t->get_string() != "function")) {
      why = "a tool call's 'type' must be \"function\"";
      return false;
    }
    msg.parts.emplace_back(tool_call{std::string(id->get_string()), std::string(name->get_string()),
                                     std::string(args->get_string())});
  }
  return true;
}

bool read_message(const json::value& m, chat_message& msg, std::string& why) {
  const auto* mo = m.if_object();
  const auto* r = mo ? mo->if_contains("role") : nullptr;
  if (!r || !r->is_string()) {
    why = "each message needs a string 'role'";
    return false;
  }
  const auto role_name = r->get_string();
  const auto* c = mo->if_contains("content");
  const auto* calls = mo->if_contains("tool_calls");
  const bool has_calls = calls && !calls->is_null();
  std::string words;
  if (c && !c->is_null()) {
    if (!read_content(*c, words, why)) return false;
  } else if (role_name != "assistant" || !has_calls) {
    // Only an assistant turn that calls tools may go without content.
    why = "each message needs a string 'role' and a string 'content'";
    return false;
  }
  if (role_name == "system" || role_name == "developer") {
    msg = chat_message(role::system, std::move(words));
  } else if (role_name == "user") {
    msg = chat_message(role::user, std::move(words));
  } else if (role_name == "assistant") {
    msg = chat_message(role::assistant);
    if (!words.empty()) msg.parts.emplace_back(text_part{std::move(words)});
    if (has_calls && !read_tool_calls(*calls, msg, why)) return false;
  } else if (role_name == "tool") {
    const auto* id = mo->if_contains("tool_call_id");
    if (!id || !id->is_string()) {
      why = "a 'tool' message needs a string 'tool_call_id'";
      return false;
    }
    msg = chat_message::from_result(tool_result{std::string(id->get_string()), std::move(words)});
  } else {
    why = "unknown role '" + std::string(role_name) + "'";
    return false;
  }
  if (has_calls && role_name != "assistant") {
    why = "only assistant messages may carry 'tool_calls'";
    return false;
  }
  return true;
}

bool read_tools(const json::value& v, std::vector<tool_spec>& out, std::string& why) {
  if (!v.is_array()) {
    why = "'tools' must be an array";
    return false;
  }
  if (v.get_array().size() > max_tools) {
    why = "'tools' holds more than " + std::to_string(max_tools) + " tools";
    return false;
  }
  for (const auto& t : v.get_array()) {
    const auto* to = t.if_object();
    const auto* type = to ? to->if_contains("type") : nullptr;
    if (!type || !type->is_string() || type->get_string() != "function") {
      why = "each tool needs 'type': \"function\"";
      return false;
    }
    const auto* fn = to->if_contains("function");
    const auto* fo = fn ? fn->if_object() : nullptr;
    const auto* name = fo ? fo->if_contains("name") : nullptr;
    if (!name || !name->is_string() || !valid_tool_name(name->get_string())) {
      why = "each tool needs a 'function' whose 'name' is 1-64 letters, digits, _ or -";
      return false;
    }
    tool_spec spec;
    spec.name = std::string(name->get_string());
    if (const auto* d = fo->if_contains("description"); d && !d->is_null()) {
      if (!d->is_string()) {
        why = "tool '" + spec.name + "': 'description' must be a string";
        return false;
      }
      spec.description = std::string(d->get_string());
    }
    if (const auto* p = fo->if_contains("parameters"); p && !p->is_null()) {
      if (!p->is_object()) {
        why = "tool '" + spec.name + "': 'parameters' must be a JSON Schema object";
        return false;
      }
      spec.parameters = json::serialize(*p);
    }
    for (const auto& seen : out) {
      if (seen.name == spec.name) {
        why = "tool '" + spec.name + "' is offered twice";
        return false;
      }
    }
    out.push_back(std::move(spec));
  }
  return true;
}

bool read_tool_choice(const json::value& v, incoming_request& out, std::string& why) {
  if (v.is_string()) {
    const auto s = v.get_string();
    if (s == "auto") return true;
    if (s == "none") {
      out.choice.how = tool_choice::mode::none;
      return true;
    }
    if (s == "required") {
      out.choice.how = tool_choice::mode::required;
      return true;
    }
  } else if (const auto* o = v.if_object()) {
    const auto* type = o->if_contains("type");
    const auto* fn = o->if_contains("function");
    const auto* name = fn && fn->is_object() ? fn->get_object().if_contains("name") : nullptr;
    if (type && type->is_string() && type->get_string() == "function" && name &&
        name->is_string()) {
      out.choice = {tool_choice::mode::named, std::string(name->get_string())};
      return true;
    }
  }
  why =
      "'tool_choice' must be \"auto\", \"none\", \"required\" or "
      "{\"type\": \"function\", \"function\": {\"name\": ...}}";
  return false;
}

}  // namespace

bool parse_request(std::string_view body, incoming_request& out, std::string& why) {
  boost::system::error_code ec;
  // Requests are small: a stack buffer spares the heap a few dozen allocations per request.
  alignas(std::max_align_t) unsigned char scratch[8192];
  json::monotonic_resource memory(scratch, sizeof scratch);
  json::value v = json::parse(body, ec, json::storage_ptr(&memory));
  if (ec || !v.is_object()) {
    why = "request body is not a JSON object";
    return false;
  }
  const auto& o = v.get_object();
  const auto* model = o.if_contains("model");
  if (!model || !model->is_string()) {
    why = "'model' is required and must be a string";
    return false;
  }
  out.model = std::string(model->get_string());
  const auto* messages = o.if_contains("messages");
  if (!messages || !messages->is_array() || messages->get_array().empty()) {
    why = "'messages' must be a non-empty array";
    return false;
  }
  for (const auto& m : messages->get_array()) {
    chat_message msg;
    if (!read_message(m, msg, why)) return false;
    out.messages.push_back(std::move(msg));
  }
  if (const auto* s = o.if_contains("stream"); s && s->is_bool()) out.stream = s->get_bool();
  if (const auto* so = o.if_contains("stream_options"); so && so->is_object()) {
    if (const auto* iu = so->get_object().if_contains("include_usage"); iu && iu->is_bool()) {
      out.include_usage = iu->get_bool();
    }
  }
  if (const auto* t = o.if_contains("tools"); t && !t->is_null()) {
    if (!read_tools(*t, out.tools, why)) return false;
  }
  if (const auto* tc = o.if_contains("tool_choice"); tc && !tc->is_null()) {
    if (!read_tool_choice(*tc, out, why)) return false;
  }
  if (const auto* p = o.if_contains("parallel_tool_calls"); p && !p->is_null()) {
    if (!p->is_bool()) {
      why = "'parallel_tool_calls' must be a boolean";
      return false;
    }
    out.parallel_tool_calls = p->get_bool();
  }
  const bool must_call =
      out.choice.how == tool_choice::mode::required || out.choice.how == tool_choice::mode::named;
  if (must_call && out.tools.empty()) {
    why = "'tool_choice' asks for a tool call, but no 'tools' are offered";
    return false;
  }
  if (out.choice.how == tool_choice::mode::named &&
      std::none_of(out.tools.begin(), out.tools.end(),
                   [&](const tool_spec& t) { return t.name == out.choice.name; })) {
    why = "'tool_choice' names '" + text::quote(out.choice.name, 80) +
          "', which is not among the 'tools'";
    return false;
  }
  return true;
}

}  // namespace conclave::mock
