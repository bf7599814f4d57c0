// The reply side of the Anthropic wire, whole bodies: a `message` into a chat_response, an
// error body into diagnostics and a typed error.
#include "wire_json.hpp"

#include <conclave/anthropic/reply_parts.hpp>
#include <conclave/anthropic/wire.hpp>
#include <conclave/provider/http_errors.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace json = boost::json;

namespace conclave::anthropic {
namespace {

using detail::cut;
using detail::string_at;

// One whole block of a reply's `content` as the content_block a stream would have built.
bool read_block(const json::value& v, content_block& out, std::string& why) {
  const auto* o = v.if_object();
  if (!o) {
    why = "a content block is not an object";
    return false;
  }
  out.what = block_kind(string_at(*o, "type"));
  switch (out.what) {
    case content_block::kind::text:
      out.body = string_at(*o, "text");
      break;
    case content_block::kind::tool_use:
      out.id = string_at(*o, "id");
      out.name = string_at(*o, "name");
      // An object is the norm; anything else goes on as its JSON text, for the agent to
      // refuse with an error result the model sees.
      if (const auto* input = o->if_contains("input")) out.body = json::serialize(*input);
      if (out.body.size() > max_argument_bytes) {
        why = "a tool call's input exceeds " + std::to_string(max_argument_bytes) + " bytes";
        return false;
      }
      break;
    case content_block::kind::thinking:
      out.body = string_at(*o, "thinking");
      out.signature = string_at(*o, "signature");
      break;
    case content_block::kind::redacted_thinking:
      out.body = string_at(*o, "data");
      break;
    case content_block::kind::other:
      break;  // a block type newer than this code: nothing we can show
  }
  return true;
}

}  // namespace

boost::system::error_code decode_message(std::string_view body, chat_response& out,
                                         bool* usage_reported) {
  if (usage_reported) *usage_reported = false;
  boost::system::error_code ec;
  detail::scratch mem;
  const json::value v = json::parse(body, ec, mem.storage());
  if (ec || !v.is_object()) {
    out.diag.message = "reply is not a JSON object: " + cut(body);
    return error::bad_response;
  }
  const auto& o = v.get_object();
  if (string_at(o, "type") == "error") {
    const auto* err = detail::object_at(o, "error");
    out.diag.message = err ? string_at(*err, "message") : cut(body);
    out.diag.provider_code = err ? string_at(*err, "type") : std::string();
    return error_from_type(out.diag.provider_code);
  }
  const auto* content = o.if_contains("content");
  if (!content || !content->is_array()) {
    out.diag.message = "reply has no content array: " + cut(body);
    return error::bad_response;
  }
  if (content->get_array().size() > max_content_blocks) {
    out.diag.message = "more than " + std::to_string(max_content_blocks) + " content blocks";
    return error::bad_response;
  }
  std::vector<content_block> blocks(content->get_array().size());
  std::string why;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (!read_block(content->get_array()[i], blocks[i], why)) {
      out.diag.message = why;
      return error::bad_response;
    }
  }
  if (!assemble_message(blocks, out.message, why)) {
    out.diag.message = why;
    return error::bad_response;
  }
  out.finish_reason = string_at(o, "stop_reason");
  // What the model sent decides, not the word: a message holding calls asks for tools.
  out.stop =
      out.message.has_tool_calls() ? stop_reason::tool_use : stop_reason_from(out.finish_reason);
  out.model = string_at(o, "model");
  usage_counts counts;
  if (const auto* u = detail::object_at(o, "usage")) counts.overwrite_from(*u);
  out.tokens = counts.to_usage();
  if (usage_reported) *usage_reported = counts.believable();
  return {};
}

boost::system::error_code decode_error_body(unsigned status, std::string_view body,
                                            diagnostics& diag) {
  boost::system::error_code ec;
  detail::scratch mem;
  const json::value v = json::parse(body, ec, mem.storage());
  const json::object* err = nullptr;
  if (!ec && v.is_object()) err = detail::object_at(v.get_object(), "error");
  if (!err) {
    diag.message = cut(body);
    return provider::classify_status(status);
  }
  diag.message = string_at(*err, "message");
  diag.provider_code = string_at(*err, "type");
  // Anthropic may say overloaded under a status that alone would read otherwise (a 500).
  if (diag.provider_code == "overloaded_error") return error::overloaded;
  return provider::classify_status(status);
}

}  // namespace conclave::anthropic
