#include "wire_json.hpp"

#include <conclave/anthropic/stream_decoder.hpp>
#include <conclave/provider/http_errors.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace json = boost::json;

namespace conclave::anthropic {
namespace {

using detail::cut;
using detail::string_at;
using detail::string_in;
using kind = content_block::kind;

// Which block kind a delta type belongs to; other for delta types newer than this code.
kind delta_target(std::string_view type) noexcept {
  if (type == "text_delta") return kind::text;
  if (type == "input_json_delta") return kind::tool_use;
  if (type == "thinking_delta" || type == "signature_delta") return kind::thinking;
  return kind::other;
}

const char* kind_name(kind k) noexcept {
  switch (k) {
    case kind::text:
      return "text";
    case kind::tool_use:
      return "tool_use";
    case kind::thinking:
      return "thinking";
    case kind::redacted_thinking:
      return "redacted_thinking";
    case kind::other:
      break;
  }
  return "other";
}

}  // namespace

chat_response& stream_decoder::response() {
  if (!done_) {
    // Cut short or failed: what a reader saw arrive is kept; half-built tool calls are not.
    std::string reasoning;
    for (const auto& b : blocks_) {
      if (b.what == kind::thinking) reasoning += b.body;
    }
    response_.message = assistant_message(text_of(blocks_), {}, std::move(reasoning));
    // message_start's output count is provisional (1): a stream cut after much text spent
    // more, so the output is at least what arrived, estimated from its bytes (every block's).
    if (counts_.believable()) {
      std::size_t bytes = 0;
      for (const auto& b : blocks_) bytes += b.body.size();
      response_.tokens = counts_.to_usage();
      response_.tokens.completion_tokens =
          std::max(response_.tokens.completion_tokens, provider::estimate_tokens(bytes));
    }
  }
  return response_;
}

stream_decoder::step stream_decoder::fail(conclave::error e, std::string message) {
  error_ = e;
  failure_.message = std::move(message);
  return step::failed;
}

stream_decoder::step stream_decoder::on_event(const http::sse_event& event,
                                              provider::stream_pieces& pieces) {
  if (error_) return step::failed;
  if (done_) return step::done;  // nothing after message_stop changes the reply

  boost::system::error_code ec;
  detail::scratch mem;
  const json::value v = json::parse(event.data, ec, mem.storage());
  if (ec || !v.is_object()) {
    return fail(error::bad_response,
                "stream event '" + cut(event.type) + "' is not a JSON object: " + cut(event.data));
  }
  const auto& data = v.get_object();
  // The data's own type is the truth; the `event:` line only stands in when it is missing.
  const auto* named = string_in(data, "type");
  const std::string_view type = named ? std::string_view(*named) : std::string_view(event.type);
  if (type == "message_start") return on_message_start(data);
  if (type == "content_block_start") return on_block_start(data, pieces);
  if (type == "content_block_delta") return on_block_delta(data, pieces);
  if (type == "content_block_stop") return on_block_stop(data);
  if (type == "message_delta") return on_message_delta(data);
  if (type == "message_stop") return on_message_stop();
  if (type == "error") return on_error(data);
  return step::more;  // ping, and event types newer than this code
}

stream_decoder::step stream_decoder::on_message_start(const json::object& data) {
  const auto* message = detail::object_at(data, "message");
  if (!message) return fail(error::bad_response, "message_start carries no message object");
  response_.model = string_at(*message, "model");
  if (const auto* u = detail::object_at(*message, "usage")) counts_.overwrite_from(*u);
  response_.tokens = counts_.to_usage();
  return step::more;
}

stream_decoder::step stream_decoder::on_block_start(const json::object& data,
                                                    provider::stream_pieces& pieces) {
  const auto* i = data.if_contains("index");
  const auto* block = detail::object_at(data, "content_block");
  if (!i || !i->is_int64() || i->get_int64() < 0 || !block) {
    return fail(error::bad_response,
                "content_block_start needs an index >= 0 and a content_block object");
  }
  for (const auto& b : blocks_) {
    if (b.index == i->get_int64()) {
      return fail(error::bad_response,
                  "content block " + std::to_string(b.index) + " was started twice");
    }
  }
  if (blocks_.size() >= max_content_blocks) {
    return fail(error::bad_response,
                "more than " + std::to_string(max_content_blocks) + " content blocks");
  }
  content_block b;
  b.index = i->get_int64();
  b.what = block_kind(string_at(*block, "type"));
  switch (b.what) {
    case kind::text:
      // "" in practice; a server that starts with words has them counted.
      b.body = string_at(*block, "text");
      pieces.text += b.body;
      break;
    case kind::tool_use:
      b.id = string_at(*block, "id");
      b.name = string_at(*block, "name");
      b.call = tool_uses_++;
      // The start's `input` is {} and the arguments follow as input_json_delta pieces.
      pieces.tool_fragments.push_back({b.call, b.id, b.name, {}});
      break;
    case kind::thinking:
      b.body = string_at(*block, "thinking");
      b.signature = string_at(*block, "signature");
      pieces.reasoning += b.body;
      break;
    case kind::redacted_thinking:
      b.body = string_at(*block, "data");
      break;
    case kind::other:
      break;  // a block type newer than this code: kept for its index, its deltas ignored
  }
  blocks_.push_back(std::move(b));
  return step::more;
}

content_block* stream_decoder::open_block(const json::object& data, std::string& why_not) {
  const auto* i = data.if_contains("index");
  if (!i || !i->is_int64()) {
    why_not = "has no index";
    return nullptr;
  }
  for (auto& b : blocks_) {
    if (b.index != i->get_int64()) continue;
    if (b.closed) {
      why_not = "is for content block " + std::to_string(b.index) + ", already stopped";
      return nullptr;
    }
    return &b;
  }
  why_not = "is for content block " + std::to_string(i->get_int64()) + ", never started";
  return nullptr;
}

stream_decoder::step stream_decoder::on_block_delta(const json::object& data,
                                                    provider::stream_pieces& pieces) {
  std::string why;
  content_block* b = open_block(data, why);
  if (!b) return fail(error::bad_response, "content_block_delta " + why);
  const auto* delta = detail::object_at(data, "delta");
  if (!delta) return fail(error::bad_response, "content_block_delta carries no delta object");
  const std::string type = string_at(*delta, "type");
  const kind target = delta_target(type);
  if (target == kind::other || b->what == kind::other) return step::more;  // newer than us
  if (target != b->what) {
    return fail(error::bad_response,
                "a delta of type '" + cut(type) + "' does not fit content block " +
                    std::to_string(b->index) + " (" + kind_name(b->what) + ")");
  }
  // The field each delta type carries; a delta without it is malformed, not empty.
  const std::string_view field = type == "text_delta"         ? "text"
                                 : type == "input_json_delta" ? "partial_json"
                                 : type == "thinking_delta"   ? "thinking"
                                                              : "signature";
  const auto* piece = string_in(*delta, field);
  if (!piece) return fail(error::bad_response, cut(type) + " has no string " + std::string(field));
  const std::string_view s(piece->data(), piece->size());
  if (type == "text_delta") {
    b->body += s;
    pieces.text += s;
  } else if (type == "input_json_delta") {
    if (b->body.size() + s.size() > max_argument_bytes) {
      return fail(error::bad_response, "a tool call's arguments exceed " +
                                           std::to_string(max_argument_bytes) + " bytes");
    }
    b->body += s;
    pieces.tool_fragments.push_back({b->call, {}, {}, std::string(s)});
  } else if (type == "thinking_delta") {
    b->body += s;
    pieces.reasoning += s;
  } else {
    b->signature += s;  // one piece in practice; never shown, only replayed
  }
  return step::more;
}

stream_decoder::step stream_decoder::on_block_stop(const json::object& data) {
  std::string why;
  content_block* b = open_block(data, why);
  if (!b) return fail(error::bad_response, "content_block_stop " + why);
  b->closed = true;
  return step::more;
}

stream_decoder::step stream_decoder::on_message_delta(const json::object& data) {
  if (const auto* delta = detail::object_at(data, "delta")) {
    if (const auto* word = string_in(*delta, "stop_reason")) {
      response_.finish_reason = std::string(*word);
      response_.stop = stop_reason_from(response_.finish_reason);
    }
  }
  // Cumulative counts: each report replaces the fields it carries.
  if (const auto* u = detail::object_at(data, "usage")) counts_.overwrite_from(*u);
  response_.tokens = counts_.to_usage();
  return step::more;
}

stream_decoder::step stream_decoder::on_message_stop() {
  std::string why;
  if (!assemble_message(blocks_, response_.message, why)) return fail(error::bad_response, why);
  if (response_.message.has_tool_calls()) response_.stop = stop_reason::tool_use;
  done_ = true;
  return step::done;
}

stream_decoder::step stream_decoder::on_error(const json::object& data) {
  // Sent after HTTP 200 too (an overload mid-reply): a failure, whatever came before.
  const auto* err = detail::object_at(data, "error");
  if (!err) return fail(error::provider_error, "error event: " + cut(json::serialize(data)));
  failure_.provider_code = string_at(*err, "type");
  return fail(error_from_type(failure_.provider_code), string_at(*err, "message"));
}

}  // namespace conclave::anthropic
