// The request side of the Anthropic wire: a chat_request as the JSON body of POST
// /v1/messages (tool turns, merged roles, replayed thinking blocks), and the check of the
// offered tools.
#include "wire_json.hpp"

#include <conclave/anthropic/wire.hpp>
#include <conclave/engine/text.hpp>
#include <conclave/provider/json_write.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <variant>
#include <vector>

namespace json = boost::json;

namespace conclave::anthropic {
namespace {

// A tool call's arguments as the `input` object Anthropic requires. Arguments that are not a
// JSON object (a model's malformed JSON, replayed) go as {}: the API refuses anything else,
// and the tool_result that follows already told the model what went wrong.
json::value tool_input(const std::string& arguments, const json::storage_ptr& sp) {
  boost::system::error_code ec;
  json::value v = json::parse(arguments, ec, sp);
  if (ec || !v.is_object()) return json::object(sp);
  return v;
}

// The thinking blocks an Anthropic turn asked to have back, verbatim (their signatures cover
// every byte). Another wire's replay, or one that is not a JSON array, adds nothing.
void append_replay(const chat_message& m, json::array& content, const json::storage_ptr& sp) {
  if (m.replay.wire != "anthropic" || m.replay.json.empty()) return;
  boost::system::error_code ec;
  json::value blocks = json::parse(m.replay.json, ec, sp);
  if (ec || !blocks.is_array()) return;
  for (auto& b : blocks.get_array()) content.push_back(std::move(b));
}

// The content blocks of one conclave message, in its parts' order.
void append_blocks(const chat_message& m, json::array& content, const json::storage_ptr& sp,
                   provider::body_texts& texts) {
  if (m.who == role::assistant) append_replay(m, content, sp);
  for (const auto& part : m.parts) {
    json::object block(sp);
    if (const auto* t = std::get_if<text_part>(&part)) {
      // The API refuses empty text blocks, and an empty part says nothing anyway.
      if (t->text.empty()) continue;
      block["type"] = "text";
      texts.assign(block["text"], t->text);  // its last field: its address stays
    } else if (const auto* call = std::get_if<tool_call>(&part)) {
      block["type"] = "tool_use";
      block["id"] = call->id;
      block["name"] = call->name;
      block["input"] = tool_input(call->arguments, sp);
    } else if (const auto* result = std::get_if<tool_result>(&part)) {
      block["type"] = "tool_result";
      block["tool_use_id"] = result->call_id;
      block["content"] = result->content;
      if (result->is_error) block["is_error"] = true;
    }
    content.push_back(std::move(block));
  }
}

json::object tool_choice_object(const chat_request& req, const json::storage_ptr& sp) {
  json::object choice(sp);
  switch (req.choice.how) {
    case tool_choice::mode::automatic:
      choice["type"] = "auto";
      break;
    case tool_choice::mode::none:
      choice["type"] = "none";
      return choice;  // takes no disable_parallel_tool_use
    case tool_choice::mode::required:
      choice["type"] = "any";
      break;
    case tool_choice::mode::named:
      choice["type"] = "tool";
      choice["name"] = req.choice.name;
      break;
  }
  if (req.parallel_tool_calls && !*req.parallel_tool_calls)
    choice["disable_parallel_tool_use"] = true;
  return choice;
}

}  // namespace

std::string encode_messages_request(const chat_request& req, std::string_view default_model,
                                    bool stream) {
  detail::scratch mem;
  const json::storage_ptr sp = mem.storage();
  json::object body(sp);
  provider::body_texts texts;  // large text blocks, written in place (no copy in `body`)
  body["model"] = req.model.empty() ? default_model : std::string_view(req.model);
  body["max_tokens"] = req.max_tokens.value_or(default_max_tokens);

  std::string system;
  json::array messages(sp);
  std::string_view last_role;  // of the message at messages.back()
  for (const auto& m : req.messages) {
    if (m.who == role::system) {
      std::string joined;
      const std::string_view words = provider::text_of(m, joined);
      if (words.empty()) continue;
      if (!system.empty()) system += "\n\n";
      system += words;
      continue;
    }
    // Results go back in a user turn; Anthropic wants the roles to alternate, so a turn that
    // follows one of the same role joins it (every result of a turn in one user message).
    const std::string_view wire_role = m.who == role::assistant ? "assistant" : "user";
    if (messages.empty() || wire_role != last_role) {
      json::object message(sp);
      message["role"] = wire_role;
      message["content"] = json::array(sp);
      messages.push_back(std::move(message));
      last_role = wire_role;
    }
    append_blocks(m, messages.back().as_object()["content"].as_array(), sp, texts);
  }
  if (!system.empty()) body["system"] = system;
  body["messages"] = std::move(messages);

  if (!req.tools.empty()) {
    json::array tools(sp);
    for (const auto& t : req.tools) {
      boost::system::error_code ec;
      json::value schema = json::parse(t.parameters, ec, sp);
      if (ec || !schema.is_object()) schema = json::object(sp);  // see check_tools
      json::object tool(sp);
      tool["name"] = t.name;
      if (!t.description.empty()) tool["description"] = t.description;
      tool["input_schema"] = std::move(schema);
      tools.push_back(std::move(tool));
    }
    body["tools"] = std::move(tools);
    body["tool_choice"] = tool_choice_object(req, sp);
  }
  if (req.temperature) body["temperature"] = *req.temperature;
  if (stream) body["stream"] = true;
  return texts.serialize(body, provider::expected_body_bytes(req));
}

}  // namespace conclave::anthropic
