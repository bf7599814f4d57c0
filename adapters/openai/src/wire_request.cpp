// The request side of the OpenAI wire: a chat_request as the JSON body of POST
// /chat/completions, tools and tool turns included, and the check of the offered tools.
#include "json_scratch.hpp"

#include <conclave/engine/text.hpp>
#include <conclave/openai/wire.hpp>
#include <conclave/provider/json_write.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <vector>

namespace json = boost::json;

namespace conclave::openai {

std::string encode_chat_request(const chat_request& req, std::string_view default_model) {
  scratch mem;
  json::object body(mem.storage());
  provider::body_texts texts;  // large message texts, written in place (no copy in `body`)
  body["model"] = req.model.empty() ? default_model : std::string_view(req.model);
  json::array messages(mem.storage());
  messages.reserve(req.messages.size());
  for (const auto& m : req.messages) {
    if (m.who == role::tool) {
      // One `tool` message per result (Anthropic-style messages may carry several).
      for (const auto& part : m.parts) {
        const auto* result = std::get_if<tool_result>(&part);
        if (!result) continue;
        json::object message(mem.storage());
        message["role"] = "tool";
        message["tool_call_id"] = result->call_id;
        message["content"] = result->is_error && !result->content.starts_with("Error")
                                 ? "Error: " + result->content
                                 : result->content;
        messages.push_back(std::move(message));
      }
      continue;
    }
    json::object message(mem.storage());
    message.reserve(4);  // every field a message gets: `content`, set last, stays in place
    message["role"] = to_string(m.who);
    std::string joined;
    const std::string_view words = provider::text_of(m, joined);
    // In place only when `words` is the message's own text: `joined` ends with this turn.
    auto set_content = [&] {
      if (joined.empty()) {
        texts.assign(message["content"], words);
      } else {
        message["content"] = words;
      }
    };
    if (m.who == role::assistant && m.has_tool_calls()) {
      json::array calls(mem.storage());
      for (const auto& part : m.parts) {
        const auto* call = std::get_if<tool_call>(&part);
        if (!call) continue;
        json::object function(mem.storage());
        function["name"] = call->name;
        function["arguments"] = call->arguments;
        json::object c(mem.storage());
        c["id"] = call->id;
        c["type"] = "function";
        c["function"] = std::move(function);
        calls.push_back(std::move(c));
      }
      message["tool_calls"] = std::move(calls);
      // Reasoning models (DeepSeek's thinking mode and others) require it back on tool turns.
      if (!m.reasoning.empty()) message["reasoning_content"] = m.reasoning;
      if (words.empty()) {
        message["content"] = nullptr;
      } else {
        set_content();
      }
    } else {
      set_content();
    }
    messages.push_back(std::move(message));
  }
  body["messages"] = std::move(messages);
  if (!req.tools.empty()) {
    json::array tools(mem.storage());
    for (const auto& t : req.tools) {
      boost::system::error_code ec;
      json::value parameters = json::parse(t.parameters, ec, mem.storage());
      if (ec || !parameters.is_object())
        parameters = json::object(mem.storage());  // see check_tools
      json::object function(mem.storage());
      function["name"] = t.name;
      if (!t.description.empty()) function["description"] = t.description;
      function["parameters"] = std::move(parameters);
      json::object tool(mem.storage());
      tool["type"] = "function";
      tool["function"] = std::move(function);
      tools.push_back(std::move(tool));
    }
    body["tools"] = std::move(tools);
    switch (req.choice.how) {
      case tool_choice::mode::automatic:
        body["tool_choice"] = "auto";
        break;
      case tool_choice::mode::none:
        body["tool_choice"] = "none";
        break;
      case tool_choice::mode::required:
        body["tool_choice"] = "required";
        break;
      case tool_choice::mode::named: {
        json::object named(mem.storage());
        named["type"] = "function";
        named["function"] = json::object{{"name", req.choice.name}};
        body["tool_choice"] = std::move(named);
        break;
      }
    }
    if (req.parallel_tool_calls) body["parallel_tool_calls"] = *req.parallel_tool_calls;
  }
  if (req.max_tokens) body["max_tokens"] = *req.max_tokens;
  if (req.temperature) body["temperature"] = *req.temperature;
  if (req.stream) {
    body["stream"] = true;
    json::object options(mem.storage());
    options["include_usage"] = true;
    body["stream_options"] = std::move(options);
  }
  return texts.serialize(body, provider::expected_body_bytes(req));
}

}  // namespace conclave::openai
