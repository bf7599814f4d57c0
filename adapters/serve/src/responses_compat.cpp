// Responses API wire: the request parser, the streamed events and the response object.
#include "request_fields.hpp"

#include <conclave/engine/chat.hpp>
#include <conclave/serve/responses_compat.hpp>

#include <boost/json.hpp>

namespace conclave::serve {
namespace json = boost::json;
using detail::bad;
using detail::member;
using detail::null_if_empty;
using detail::safe;

namespace {

std::optional<wire_error> read_input(const json::value& input, detail::conversation& conv) {
  if (input.is_string()) {
    conv.user(std::string(input.get_string()));
    return std::nullopt;
  }
  if (!input.is_array() || input.get_array().empty())
    return bad("input", "'input' must be a string or a non-empty array of message items.");
  const auto& items = input.get_array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string where = "input[" + std::to_string(i) + "]";
    const auto* o = items[i].if_object();
    if (!o) return bad("input", where + " must be an object.");
    const auto* t = member(*o, "type");
    // Not a ternary: json::string vs "message" would make a temporary the view outlives.
    std::string_view type = "message";
    if (t && t->is_string()) type = t->get_string();
    if (type == "reasoning") continue;  // a previous answer's reasoning: nobody reads it
    if (type == "item_reference")
      return bad("input", where + " is an item reference: this server stores no responses.");
    if (type != "message") {
      return bad("input", where + " has type '" + std::string(type) +
                              "': heavy mode takes messages and does not call client tools.");
    }
    // Content parts: what a client sends (input_text) and what it got back (output_text).
    if (auto e = detail::read_message(items[i], "input", where,
                                      {"input_text", "output_text", "text"}, conv))
      return e;
  }
  return std::nullopt;
}

json::object usage_object(std::int64_t input, std::int64_t output, std::int64_t cached) {
  return {{"input_tokens", input},
          {"input_tokens_details", {{"cached_tokens", cached}}},
          {"output_tokens", output},
          {"output_tokens_details", {{"reasoning_tokens", 0}}},
          {"total_tokens", saturating_add(input, output)}};
}

json::object summary_part(std::string_view text) {
  return {{"type", "summary_text"}, {"text", safe(text)}};
}

json::object text_part(std::string_view text) {
  return {{"type", "output_text"}, {"text", safe(text)}, {"annotations", json::array{}}};
}

// The response object with everything but output and usage, which the callers fill.
json::object response_shell(std::string_view id, std::string_view model, std::int64_t created_at,
                            std::string_view status) {
  return {{"id", safe(id)},
          {"object", "response"},
          {"created_at", created_at},
          {"status", status},
          {"error", nullptr},
          {"incomplete_details", nullptr},
          {"instructions", nullptr},
          {"max_output_tokens", nullptr},
          {"model", safe(model)},
          {"output", json::array{}},
          {"parallel_tool_calls", false},
          {"previous_response_id", nullptr},
          {"reasoning", {{"effort", nullptr}, {"summary", nullptr}}},
          {"store", false},
          {"temperature", nullptr},
          {"text", {{"format", {{"type", "text"}}}}},
          {"tool_choice", "none"},
          {"tools", json::array{}},
          {"top_p", nullptr},
          {"truncation", "disabled"},
          {"usage", nullptr},
          {"metadata", json::object{}}};
}

void mark_incomplete(json::object& r) {
  r["status"] = "incomplete";
  r["incomplete_details"] = {{"reason", "max_output_tokens"}};
}

// "resp_abc" -> "abc": the items share their response's suffix.
std::string suffix(std::string_view id) {
  return std::string(id.starts_with("resp_") ? id.substr(5) : id);
}

}  // namespace

std::variant<heavy_request, wire_error> parse_responses_request(std::string_view body,
                                                                const model_limits& limits) {
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec);
  if (ec) return bad("", "The body is not valid JSON: " + ec.message() + ".");
  const auto* o = doc.if_object();
  if (!o) return bad("", "The body must be a JSON object.");

  heavy_request out;
  if (auto e = detail::refuse_tools(*o)) return *e;
  for (std::string_view key : {"previous_response_id", "conversation"}) {
    if (member(*o, key)) {
      return bad(std::string(key), "'" + std::string(key) +
                                       "' is not supported: this server stores no responses; "
                                       "send the whole conversation in 'input'.");
    }
  }
  bool background = false;
  if (auto e = detail::read_bool(*o, "background", background)) return *e;
  if (background)
    return bad("background", "'background' is not supported: this server stores no responses.");
  if (auto e = detail::read_bool(*o, "stream", out.stream)) return *e;
  if (auto e = detail::read_temperature(*o, out.temperature)) return *e;
  if (auto e = detail::read_tokens(*o, "max_output_tokens", out.max_output_tokens)) return *e;
  if (auto e = detail::read_reasoning_format(*o, out.reasoning)) return *e;

  detail::conversation conv;
  if (const auto* ins = member(*o, "instructions")) {
    if (!ins->is_string()) return bad("instructions", "'instructions' must be a string.");
    conv.system(std::string(ins->get_string()));
  }
  const auto* input = member(*o, "input");
  if (!input) return bad("input", "'input' is required: a string or an array of messages.");
  if (auto e = read_input(*input, conv)) return *e;
  if (auto e = detail::read_model(*o, limits, out)) return *e;
  if (auto e = conv.finish(limits, "input", out)) return *e;
  return out;
}

responses_stream::responses_stream(std::string id, std::string model, std::int64_t created_at)
    : id_(std::move(id)),
      model_(std::move(model)),
      rs_id_("rs_" + suffix(id_)),
      msg_id_("msg_" + suffix(id_)),
      created_at_(created_at) {}

std::string responses_stream::event(json::object o) {
  o["sequence_number"] = seq_++;
  const auto type = o.at("type").as_string();
  return "event: " + std::string(type) + "\ndata: " + json::serialize(o) + "\n\n";
}

json::object responses_stream::reasoning_item(std::string_view status) const {
  json::array summary;
  if (reasoning_ != item::none && status != "in_progress")
    summary.push_back(summary_part(reasoning_text_));
  return {{"id", rs_id_}, {"type", "reasoning"}, {"summary", std::move(summary)}};
}

json::object responses_stream::message_item(std::string_view status) const {
  json::array content;
  if (status != "in_progress") content.push_back(text_part(answer_));
  return {{"id", msg_id_},
          {"type", "message"},
          {"status", status},
          {"role", "assistant"},
          {"content", std::move(content)}};
}

// The response as it stands: the items opened so far, with their texts.
json::object responses_stream::response(std::string_view status) const {
  auto r = response_shell(id_, model_, created_at_, status);
  auto& output = r["output"].as_array();
  if (reasoning_ != item::none) output.push_back(reasoning_item("completed"));
  if (message_ != item::none) {
    output.push_back(message_item(status == "completed"     ? "completed"
                                  : status == "in_progress" ? "in_progress"
                                                            : "incomplete"));
  }
  return r;
}

std::string responses_stream::created() {
  std::string out = event({{"type", "response.created"}, {"response", response("in_progress")}});
  return out + event({{"type", "response.in_progress"}, {"response", response("in_progress")}});
}

std::string responses_stream::reasoning(std::string_view t) {
  if (t.empty() || finished_ || message_ != item::none) return "";
  std::string out;
  if (reasoning_ == item::none) {
    reasoning_ = item::open;
    out += event({{"type", "response.output_item.added"},
                  {"output_index", 0},
                  {"item", reasoning_item("in_progress")}});
    out += event({{"type", "response.reasoning_summary_part.added"},
                  {"item_id", rs_id_},
                  {"output_index", 0},
                  {"summary_index", 0},
                  {"part", summary_part("")}});
  }
  reasoning_text_ += t;
  return out + event({{"type", "response.reasoning_summary_text.delta"},
                      {"item_id", rs_id_},
                      {"output_index", 0},
                      {"summary_index", 0},
                      {"delta", safe(t)}});
}

std::string responses_stream::close_reasoning() {
  if (reasoning_ != item::open) return "";
  reasoning_ = item::done;
  std::string out = event({{"type", "response.reasoning_summary_text.done"},
                           {"item_id", rs_id_},
                           {"output_index", 0},
                           {"summary_index", 0},
                           {"text", safe(reasoning_text_)}});
  out += event({{"type", "response.reasoning_summary_part.done"},
                {"item_id", rs_id_},
                {"output_index", 0},
                {"summary_index", 0},
                {"part", summary_part(reasoning_text_)}});
  return out + event({{"type", "response.output_item.done"},
                      {"output_index", 0},
                      {"item", reasoning_item("completed")}});
}

std::string responses_stream::open_message() {
  if (message_ != item::none) return "";
  std::string out = close_reasoning();
  message_ = item::open;
  const int index = reasoning_ == item::none ? 0 : 1;
  out += event({{"type", "response.output_item.added"},
                {"output_index", index},
                {"item", message_item("in_progress")}});
  return out + event({{"type", "response.content_part.added"},
                      {"item_id", msg_id_},
                      {"output_index", index},
                      {"content_index", 0},
                      {"part", text_part("")}});
}

std::string responses_stream::output_text(std::string_view t) {
  if (finished_ || (t.empty() && message_ != item::none)) return "";
  std::string out = open_message();
  if (t.empty()) return out;
  answer_ += t;
  return out + event({{"type", "response.output_text.delta"},
                      {"item_id", msg_id_},
                      {"output_index", reasoning_ == item::none ? 0 : 1},
                      {"content_index", 0},
                      {"delta", safe(t)},
                      {"logprobs", json::array{}}});
}

std::string responses_stream::close_message() {
  std::string out = open_message();  // a response always ends with its message, maybe empty
  if (message_ != item::open) return out;
  message_ = item::done;
  const int index = reasoning_ == item::none ? 0 : 1;
  out += event({{"type", "response.output_text.done"},
                {"item_id", msg_id_},
                {"output_index", index},
                {"content_index", 0},
                {"text", safe(answer_)},
                {"logprobs", json::array{}}});
  out += event({{"type", "response.content_part.done"},
                {"item_id", msg_id_},
                {"output_index", index},
                {"content_index", 0},
                {"part", text_part(answer_)}});
  return out + event({{"type", "response.output_item.done"},
                      {"output_index", index},
                      {"item", message_item("completed")}});
}

std::string responses_stream::completed(std::int64_t input_tokens, std::int64_t output_tokens,
                                        bool incomplete) {
  conclave::usage u;
  u.prompt_tokens = input_tokens;
  u.completion_tokens = output_tokens;
  return completed(u, incomplete);
}

std::string responses_stream::completed(const conclave::usage& u, bool incomplete) {
  if (finished_) return "";
  std::string out = close_message();
  finished_ = true;
  auto r = response("completed");
  r["usage"] = usage_object(u.prompt_tokens, u.completion_tokens, u.cache_read_tokens);
  if (incomplete) mark_incomplete(r);
  const char* type = incomplete ? "response.incomplete" : "response.completed";
  return out + event({{"type", type}, {"response", std::move(r)}});
}

std::string responses_stream::failed(const wire_error& e) {
  if (finished_) return "";
  finished_ = true;
  auto r = response("failed");
  const std::string code = !e.code.empty()   ? e.code
                           : e.status == 429 ? "rate_limit_exceeded"
                                             : "server_error";
  r["error"] = {{"code", safe(code)}, {"message", safe(e.message)}};
  return event({{"type", "response.failed"}, {"response", std::move(r)}});
}

std::string responses_stream::error(const wire_error& e) {
  finished_ = true;
  return event({{"type", "error"},
                {"code", null_if_empty(e.code.empty() ? e.type : e.code)},
                {"message", safe(e.message)},
                {"param", null_if_empty(e.param)}});
}

std::string responses_stream::keepalive() { return ": keep-alive\n\n"; }

std::string response_object(std::string_view id, std::string_view model, std::int64_t created_at,
                            std::string_view answer, std::string_view reasoning,
                            std::int64_t input_tokens, std::int64_t output_tokens,
                            bool incomplete) {
  auto r = response_shell(id, model, created_at, "completed");
  auto& output = r["output"].as_array();
  if (!reasoning.empty()) {
    output.push_back({{"id", "rs_" + suffix(id)},
                      {"type", "reasoning"},
                      {"summary", json::array{summary_part(reasoning)}}});
  }
  output.push_back({{"id", "msg_" + suffix(id)},
                    {"type", "message"},
                    {"status", "completed"},
                    {"role", "assistant"},
                    {"content", json::array{text_part(answer)}}});
  r["usage"] = usage_object(input_tokens, output_tokens, 0);
  if (incomplete) mark_incomplete(r);
  return json::serialize(r);
}

}  // namespace conclave::serve
