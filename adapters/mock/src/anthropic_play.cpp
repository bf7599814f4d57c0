#include "fault_replies.hpp"

#include <conclave/engine/text.hpp>
#include <conclave/mock/anthropic_play.hpp>

#include <cstdint>
#include <cstdio>

namespace conclave::mock::anthropic {
namespace {

std::int64_t tokens_of(std::string_view s) { return static_cast<std::int64_t>((s.size() + 3) / 4); }

// "call_3" as Anthropic names tool calls: "toolu_mock_3".
std::string tool_id(const std::string& id) {
  return "toolu_mock_" + (id.starts_with("call_") ? id.substr(5) : id);
}

// The text up to the last space before its middle (all of it when it has no such space).
std::string first_half(const std::string& text) {
  const auto cut = text.rfind(' ', text.size() / 2);
  return cut == std::string::npos || cut == 0 ? text : text.substr(0, cut);
}

}  // namespace

bool thinks(const messages_request& req) {
  const std::string_view model = req.in.model;
  return req.thinking_enabled || model == "mock-think" || model.starts_with("mock-think-tools");
}

std::string thinking_text(const incoming_request& req, const tool_turn* calls) {
  std::string out = "Thinking about \"" + text::quote(subject_of(req), 80) + "\" (round " +
                    std::to_string(tool_rounds(req) + 1) + "): ";
  if (!calls) return out + "I can answer this directly.";
  out += "calling";
  for (std::size_t i = 0; i < calls->calls.size(); ++i) {
    out += (i == 0 ? " " : " and ") + calls->calls[i].name;
  }
  return out + " should help.";
}

std::string thinking_signature(std::string_view thinking) {
  // Four seeded FNV-1a lanes over a key and the text, each finished with a 64-bit mix: a keyed
  // hash that changes with any byte of the text. Not cryptography; a mock needs stability.
  constexpr std::string_view key = "conclave-mock thinking signature v1";
  std::string out;
  for (std::uint64_t lane = 0; lane < 4; ++lane) {
    std::uint64_t h = 14695981039346656037ull ^ (lane * 0x9e3779b97f4a7c15ull);
    for (std::string_view part : {key, thinking}) {
      for (unsigned char c : part) {
        h ^= c;
        h *= 1099511628211ull;
      }
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 29;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    out += hex;
  }
  return out;
}

std::optional<std::string> check_thinking_replay(const messages_request& req) {
  const auto& turns = req.turns;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    for (const auto& tb : turns[i].thinking) {
      const std::string at =
          "messages." + std::to_string(i) + ".content." + std::to_string(tb.position);
      if (tb.redacted) return at + ": Invalid `data` in `redacted_thinking` block";
      if (tb.signature != thinking_signature(tb.thinking)) {
        return at + ": Invalid `signature` in `thinking` block";
      }
    }
  }
  // Answering tool calls: the assistant turn that made them must open with its thinking.
  if (turns.size() >= 2 && !turns.back().tool_result_ids.empty()) {
    const std::size_t i = turns.size() - 2;
    const auto& types = turns[i].block_types;
    const std::string first = types.empty() ? "nothing" : "`" + types.front() + "`";
    if (first != "`thinking`" && first != "`redacted_thinking`") {
      return "messages." + std::to_string(i) +
             ".content.0.type: Expected `thinking` or `redacted_thinking`, but found " + first +
             ". When `thinking` is enabled, a final `assistant` message must start with a "
             "thinking block (preceding the lastmost set of `tool_use` and `tool_result` "
             "blocks). We recommend you include thinking blocks from previous turns. To avoid "
             "this requirement, disable `thinking`.";
    }
  }
  return std::nullopt;
}

bool pauses(const incoming_request& req) {
  return req.messages.empty() || req.messages.back().who != role::assistant;
}

reply plan_reply(const messages_request& req, fault f, const std::optional<tool_turn>& turn,
                 const std::string& text, const std::string& auth) {
  reply r;
  std::string spoken;  // everything the reply says, for its output tokens
  if (thinks(req)) {
    block b{.what = block::kind::thinking, .text = thinking_text(req.in, turn ? &*turn : nullptr)};
    b.signature = thinking_signature(b.text);
    spoken += b.text;
    r.content.push_back(std::move(b));
  }
  if (turn) {
    for (const auto& c : turn->calls) {
      block b{.what = block::kind::tool_use, .call = c};
      b.call.id = tool_id(c.id);
      spoken += c.name + c.arguments;
      r.content.push_back(std::move(b));
    }
    r.stop_reason = stop_reason_for(turn->finish_reason);
  } else {
    auto shaped = detail::faults::shape_reply(f, text, auth);
    std::string words = std::move(shaped.content);
    r.stop_reason = stop_reason_for(shaped.finish_reason);
    if (f == fault::paused && pauses(req.in)) {
      words = first_half(words);
      r.stop_reason = "pause_turn";
    } else if (f == fault::paused) {
      // The continuation goes on from where the paused turn stopped, as Anthropic's does.
      const std::string said = first_half(words);
      if (req.in.messages.back().text() == said) words.erase(0, said.size());
    }
    // Anthropic stops at max_tokens, thinking included.
    const std::int64_t room = std::max<std::int64_t>(0, req.max_tokens - tokens_of(spoken));
    if (tokens_of(words) > room) {
      words = std::string(text::utf8_prefix(words, static_cast<std::size_t>(room) * 4));
      r.stop_reason = "max_tokens";
    }
    if (!words.empty()) {
      block b{.what = block::kind::text, .text = words};
      if (f == fault::echo_stream) {
        // Split inside the credential: a client redacting each delta alone lets it through.
        const std::string head = "Your header was: ";
        const std::size_t half = auth.size() / 2;
        b.pieces = {head + auth.substr(0, half), auth.substr(half) + " (echoed)."};
      }
      spoken += words;
      r.content.push_back(std::move(b));
    }
  }
  const usage u = count_usage(req.in, spoken);
  for (std::size_t i = 0; i < req.cached_messages && i < req.in.messages.size(); ++i) {
    r.cache_read_tokens += 3 + static_cast<std::int64_t>((req.in.messages[i].size() + 3) / 4);
  }
  r.input_tokens = u.prompt_tokens - r.cache_read_tokens;
  r.output_tokens = u.completion_tokens;
  return r;
}

}  // namespace conclave::mock::anthropic
