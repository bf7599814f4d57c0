#include "text_pieces.hpp"
#include "tool_replies.hpp"

#include <conclave/mock/anthropic_replies.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <ctime>

namespace json = boost::json;

namespace conclave::mock::anthropic {
namespace {

// A tool input as Anthropic sends it: the object; text that is not one goes as a string.
json::value input_of(const tool_call& c) {
  boost::system::error_code ec;
  json::value v = json::parse(c.arguments, ec);
  if (!ec && v.is_object()) return v;
  return json::string(c.arguments);
}

json::object block_json(const block& b) {
  switch (b.what) {
    case block::kind::thinking:
      return {{"type", "thinking"}, {"thinking", b.text}, {"signature", b.signature}};
    case block::kind::tool_use:
      return {{"type", "tool_use"},
              {"id", b.call.id},
              {"name", b.call.name},
              {"input", input_of(b.call)}};
    case block::kind::text:
      break;
  }
  return {{"type", "text"}, {"text", b.text}};
}

sse_event make(std::string type, const json::object& data) {
  std::string bytes = event_bytes(type, json::serialize(data));
  return {std::move(type), std::move(bytes)};
}

sse_event delta(std::size_t index, json::object d) {
  return make("content_block_delta", {{"type", "content_block_delta"},
                                      {"index", static_cast<std::int64_t>(index)},
                                      {"delta", std::move(d)}});
}

// A block's opening as streamed: its fields empty, to be filled by the deltas.
json::object opening(const block& b) {
  switch (b.what) {
    case block::kind::thinking:
      return {{"type", "thinking"}, {"thinking", ""}};
    case block::kind::tool_use:
      return {{"type", "tool_use"},
              {"id", b.call.id},
              {"name", b.call.name},
              {"input", json::object{}}};
    case block::kind::text:
      break;
  }
  return {{"type", "text"}, {"text", ""}};
}

void block_deltas(std::vector<sse_event>& out, std::size_t index, const block& b, int words,
                  bool one_char) {
  switch (b.what) {
    case block::kind::thinking:
      for (auto piece : detail::text_pieces(b.text, words, one_char)) {
        out.push_back(delta(index, {{"type", "thinking_delta"}, {"thinking", piece}}));
      }
      out.push_back(delta(index, {{"type", "signature_delta"}, {"signature", b.signature}}));
      return;
    case block::kind::tool_use:
      for (auto piece : replies::split_in_three(b.call.arguments)) {
        out.push_back(delta(index, {{"type", "input_json_delta"}, {"partial_json", piece}}));
      }
      return;
    case block::kind::text:
      break;
  }
  if (!b.pieces.empty()) {
    for (const auto& piece : b.pieces) {
      out.push_back(delta(index, {{"type", "text_delta"}, {"text", piece}}));
    }
    return;
  }
  for (auto piece : detail::text_pieces(b.text, words, one_char)) {
    out.push_back(delta(index, {{"type", "text_delta"}, {"text", piece}}));
  }
}

json::object usage_json(const reply& r, std::int64_t output_tokens) {
  return {{"input_tokens", r.input_tokens},
          {"cache_creation_input_tokens", 0},
          {"cache_read_input_tokens", r.cache_read_tokens},
          {"output_tokens", output_tokens}};
}

}  // namespace

std::string message_body(const reply& r) {
  json::array content;
  for (const auto& b : r.content) content.push_back(block_json(b));
  return json::serialize(json::object{{"id", r.id},
                                      {"type", "message"},
                                      {"role", "assistant"},
                                      {"model", r.model},
                                      {"content", std::move(content)},
                                      {"stop_reason", r.stop_reason},
                                      {"stop_sequence", nullptr},
                                      {"usage", usage_json(r, r.output_tokens)}});
}

std::vector<sse_event> message_events(const reply& r, int words_per_chunk, bool one_char) {
  std::vector<sse_event> out;
  out.push_back(make("message_start", {{"type", "message_start"},
                                       {"message", json::object{{"id", r.id},
                                                                {"type", "message"},
                                                                {"role", "assistant"},
                                                                {"model", r.model},
                                                                {"content", json::array{}},
                                                                {"stop_reason", nullptr},
                                                                {"stop_sequence", nullptr},
                                                                {"usage", usage_json(r, 1)}}}}));
  out.push_back(make("ping", {{"type", "ping"}}));
  for (std::size_t i = 0; i < r.content.size(); ++i) {
    const auto index = static_cast<std::int64_t>(i);
    if (i > 0) out.push_back(make("ping", {{"type", "ping"}}));
    out.push_back(make("content_block_start", {{"type", "content_block_start"},
                                               {"index", index},
                                               {"content_block", opening(r.content[i])}}));
    block_deltas(out, i, r.content[i], words_per_chunk, one_char);
    out.push_back(make("content_block_stop", {{"type", "content_block_stop"}, {"index", index}}));
  }
  out.push_back(
      make("message_delta",
           {{"type", "message_delta"},
            {"delta", json::object{{"stop_reason", r.stop_reason}, {"stop_sequence", nullptr}}},
            {"usage", json::object{{"output_tokens", r.output_tokens}}}}));
  out.push_back(make("message_stop", {{"type", "message_stop"}}));
  return out;
}

std::string event_bytes(std::string_view type, std::string_view data_json) {
  std::string out = "event: ";
  out.append(type);
  out += "\ndata: ";
  out.append(data_json);
  out += "\n\n";
  return out;
}

std::string error_body(std::string_view type, std::string_view message,
                       std::string_view request_id) {
  return json::serialize(json::object{{"type", "error"},
                                      {"error", json::object{{"type", type}, {"message", message}}},
                                      {"request_id", request_id}});
}

std::string error_event(std::string_view type, std::string_view message) {
  return event_bytes("error", json::serialize(json::object{
                                  {"type", "error"},
                                  {"error", json::object{{"type", type}, {"message", message}}}}));
}

std::string_view stop_reason_for(std::string_view finish_reason) noexcept {
  if (finish_reason == "stop") return "end_turn";
  if (finish_reason == "length") return "max_tokens";
  if (finish_reason == "content_filter") return "refusal";
  if (finish_reason == "tool_calls") return "tool_use";
  return finish_reason;
}

header_list ratelimit_headers(const limit_reading& l, std::chrono::system_clock::time_point now) {
  const std::string requests_reset = rfc3339(now + l.requests_reset);
  const std::string tokens_reset = rfc3339(now + l.tokens_reset);
  auto n = [](std::int64_t v) { return std::to_string(v); };
  const std::string prefix = "anthropic-ratelimit-";
  return {
      {prefix + "requests-limit", n(l.requests_limit)},
      {prefix + "requests-remaining", n(l.requests_remaining)},
      {prefix + "requests-reset", requests_reset},
      {prefix + "tokens-limit", n(l.input_tokens_limit + l.output_tokens_limit)},
      {prefix + "tokens-remaining", n(l.input_tokens_remaining + l.output_tokens_remaining)},
      {prefix + "tokens-reset", tokens_reset},
      {prefix + "input-tokens-limit", n(l.input_tokens_limit)},
      {prefix + "input-tokens-remaining", n(l.input_tokens_remaining)},
      {prefix + "input-tokens-reset", tokens_reset},
      {prefix + "output-tokens-limit", n(l.output_tokens_limit)},
      {prefix + "output-tokens-remaining", n(l.output_tokens_remaining)},
      {prefix + "output-tokens-reset", tokens_reset},
  };
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::ceil<std::chrono::seconds>(t.time_since_epoch()).count();
  const std::time_t when = static_cast<std::time_t>(secs);
  std::tm utc{};
  gmtime_r(&when, &utc);
  char out[32];
  const std::size_t n = std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(out, n);
}

}  // namespace conclave::mock::anthropic
