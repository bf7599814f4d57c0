#include "wire_json.hpp"

#include <conclave/anthropic/reply_parts.hpp>
#include <conclave/engine/text.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace json = boost::json;

namespace conclave::anthropic {
namespace {

// Arguments as received: "" is {}; a JSON object is re-serialised compactly; anything else is
// kept as sent (valid UTF-8), for the agent to answer with an error result the model sees (a
// model that wrote broken JSON can correct itself; failing the call would lose the turn).
std::string canonical_arguments(const std::string& received) {
  if (text::is_blank(received)) return "{}";
  boost::system::error_code ec;
  detail::scratch mem;
  const json::value v = json::parse(received, ec, mem.storage());
  return !ec && v.is_object() ? json::serialize(v) : text::to_valid_utf8(received);
}

}  // namespace

content_block::kind block_kind(std::string_view type) noexcept {
  using k = content_block::kind;
  if (type == "text") return k::text;
  if (type == "tool_use") return k::tool_use;
  if (type == "thinking") return k::thinking;
  if (type == "redacted_thinking") return k::redacted_thinking;
  return k::other;
}

bool assemble_message(const std::vector<content_block>& blocks, chat_message& out,
                      std::string& why) {
  using k = content_block::kind;
  std::string words, reasoning;
  std::vector<tool_call> calls;
  json::array replay;
  for (const auto& b : blocks) {
    switch (b.what) {
      case k::text:
        words += b.body;
        break;
      case k::tool_use:
        if (b.name.empty()) {
          why = "a tool_use block has no name";
          return false;
        }
        calls.push_back(tool_call{b.id, b.name, canonical_arguments(b.body)});
        break;
      case k::thinking:
        reasoning += b.body;
        // The signature lets Anthropic check the block was not altered: it must come back
        // with the very same text.
        replay.push_back(
            json::object{{"type", "thinking"}, {"thinking", b.body}, {"signature", b.signature}});
        break;
      case k::redacted_thinking:
        replay.push_back(json::object{{"type", "redacted_thinking"}, {"data", b.body}});
        break;
      case k::other:
        break;
    }
  }
  out = assistant_message(std::move(words), std::move(calls), std::move(reasoning));
  if (!replay.empty()) out.replay = replay_blocks{"anthropic", json::serialize(replay)};
  return true;
}

std::string text_of(const std::vector<content_block>& blocks) {
  std::string words;
  for (const auto& b : blocks) {
    if (b.what == content_block::kind::text) words += b.body;
  }
  return words;
}

void usage_counts::overwrite_from(const json::object& u) {
  auto overwrite = [&](std::string_view key, std::optional<std::int64_t>& field) {
    // null is "not reported" (the SDKs keep the earlier count); anything else not a count
    // makes the field unknown.
    if (const auto* v = u.if_contains(key); v && !v->is_null()) field = detail::count_of(*v);
  };
  overwrite("input_tokens", input);
  overwrite("output_tokens", output);
  overwrite("cache_creation_input_tokens", cache_write);
  overwrite("cache_read_input_tokens", cache_read);
}

usage usage_counts::to_usage() const noexcept {
  if (!believable()) return {};
  usage u;
  u.cache_write_tokens = cache_write.value_or(0);
  u.cache_read_tokens = cache_read.value_or(0);
  // Anthropic's input_tokens leaves out what was written to or read from the cache; conclave's
  // prompt_tokens holds them (the cache counts are subsets of it).
  u.prompt_tokens =
      saturating_add(saturating_add(*input, u.cache_write_tokens), u.cache_read_tokens);
  u.completion_tokens = *output;
  return u;
}

error error_from_type(std::string_view type) noexcept {
  if (type == "overloaded_error") return error::overloaded;
  if (type == "rate_limit_error") return error::rate_limited;
  if (type == "authentication_error") return error::auth_failed;
  // Not auth_failed, which stops the whole run: a key that may not use one model (HTTP 403
  // says the same and is exempt too) leaves the run its fallbacks.
  if (type == "permission_error" || type == "invalid_request_error" || type == "not_found_error" ||
      type == "request_too_large" || type == "billing_error") {
    return error::bad_request;
  }
  return error::provider_error;
}

}  // namespace conclave::anthropic
