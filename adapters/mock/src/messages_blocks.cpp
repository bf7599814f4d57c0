// Reading one entry of an Anthropic request's `messages`: its content blocks (text, images,
// tool_use, tool_result, thinking, redacted_thinking) onto the mock's chat messages, and what
// the wire turn looked like for the checks that follow.
#include "messages_blocks.hpp"

#include <conclave/engine/text.hpp>

#include <boost/json/serialize.hpp>

namespace json = boost::json;

namespace conclave::mock::detail {
namespace {

// A message's reading state: the wire turn, the messages it becomes, and its field path.
struct turn_reader {
  std::string at;  // "messages.3"
  wire_turn turn;
  chat_message said;                  // the user's words, or the assistant's whole turn
  std::vector<chat_message> results;  // a user turn's tool results, one message each
  json::array replay;                 // an assistant turn's thinking blocks, verbatim
  bool cached = false;                // a block carries cache_control
  std::string why;

  bool fail(std::string w) {
    why = std::move(w);
    return false;
  }

  // `content` of a tool_result: a string, or text blocks joined (images are ignored).
  bool result_content(const json::value& c, std::string& out, const std::string& path) {
    if (c.is_string()) {
      out = std::string(c.get_string());
      return true;
    }
    if (!c.is_array()) return fail(path + ": Input should be a valid string or list");
    for (const auto& b : c.get_array()) {
      const auto* bo = b.if_object();
      const auto* type = bo ? string_field(*bo, "type") : nullptr;
      if (!type) return fail(path + ": each block needs a string 'type'");
      if (*type != "text") continue;
      const auto* t = string_field(*bo, "text");
      if (!t) return fail(path + ".text: Field required");
      out.append(t->data(), t->size());
    }
    return true;
  }

  bool block(const json::value& b, std::size_t j) {
    const std::string path = at + ".content." + std::to_string(j);
    const auto* bo = b.if_object();
    const auto* type = bo ? string_field(*bo, "type") : nullptr;
    if (!type) return fail(path + ".type: Field required");
    const std::string_view t = *type;
    turn.block_types.emplace_back(t);
    if (bo->contains("cache_control")) cached = true;
    const bool assistant = turn.who == role::assistant;
    auto only = [&](bool allowed) {
      return allowed || fail(path + ": a '" + std::string(t) + "' block is not allowed in " +
                             (assistant ? "an assistant" : "a user") + " message");
    };
    if (t == "text") {
      const auto* text = string_field(*bo, "text");
      if (!text) return fail(path + ".text: Field required");
      said.parts.emplace_back(text_part{std::string(*text)});
      return true;
    }
    if (t == "image" || t == "document" || t == "search_result") return only(!assistant);
    if (t == "tool_use") {
      if (!only(assistant)) return false;
      const auto* id = string_field(*bo, "id");
      const auto* name = string_field(*bo, "name");
      const auto* input = bo->if_contains("input");
      if (!id) return fail(path + ".id: Field required");
      if (!name) return fail(path + ".name: Field required");
      if (!input || !input->is_object()) return fail(path + ".input: Input should be an object");
      said.parts.emplace_back(
          tool_call{std::string(*id), std::string(*name), json::serialize(*input)});
      turn.tool_use_ids.emplace_back(*id);
      return true;
    }
    if (t == "tool_result") {
      if (!only(!assistant)) return false;
      const auto* id = string_field(*bo, "tool_use_id");
      if (!id) return fail(path + ".tool_use_id: Field required");
      tool_result r{std::string(*id), "", false};
      if (const auto* c = bo->if_contains("content"); c && !c->is_null()) {
        if (!result_content(*c, r.content, path + ".content")) return false;
      }
      if (const auto* e = bo->if_contains("is_error"); e && !e->is_null()) {
        if (!e->is_bool()) return fail(path + ".is_error: Input should be a valid boolean");
        r.is_error = e->get_bool();
      }
      turn.tool_result_ids.emplace_back(*id);
      results.push_back(chat_message::from_result(std::move(r)));
      return true;
    }
    if (t == "thinking" || t == "redacted_thinking") {
      if (!only(assistant)) return false;
      thinking_block tb;
      tb.position = j;
      tb.redacted = t == "redacted_thinking";
      if (tb.redacted) {
        const auto* data = string_field(*bo, "data");
        if (!data) return fail(path + ".data: Field required");
        tb.data = std::string(*data);
      } else {
        const auto* thinking = string_field(*bo, "thinking");
        const auto* signature = string_field(*bo, "signature");
        if (!thinking) return fail(path + ".thinking: Field required");
        if (!signature) return fail(path + ".signature: Field required");
        tb.thinking = std::string(*thinking);
        tb.signature = std::string(*signature);
      }
      turn.thinking.push_back(std::move(tb));
      replay.push_back(b);  // verbatim, for the engine's replay_blocks
      return true;
    }
    return fail(path + ".type: unknown content block type '" + text::quote(t, 40) + "'");
  }

  bool read(const json::value& m, bool last) {
    const auto* mo = m.if_object();
    if (!mo) return fail(at + ": Input should be an object");
    const auto* r = string_field(*mo, "role");
    if (!r) return fail(at + ".role: Field required");
    if (*r == "system") {
      return fail(
          "messages: Unexpected role \"system\". The Messages API accepts a top-level `system` "
          "parameter, not \"system\" as an input message role.");
    }
    if (*r != "user" && *r != "assistant") {
      return fail(at + ".role: Input should be 'user' or 'assistant'");
    }
    turn.who = *r == "user" ? role::user : role::assistant;
    said = chat_message(turn.who);
    const auto* c = mo->if_contains("content");
    if (!c) return fail(at + ".content: Field required");
    bool empty = false;
    if (c->is_string()) {
      turn.block_types.emplace_back("text");
      empty = c->get_string().empty();
      if (!empty) said.parts.emplace_back(text_part{std::string(c->get_string())});
    } else if (c->is_array()) {
      empty = c->get_array().empty();
      for (std::size_t j = 0; j < c->get_array().size(); ++j) {
        if (!block(c->get_array()[j], j)) return false;
      }
    } else {
      return fail(at + ".content: Input should be a valid string or list");
    }
    if (empty && !(last && turn.who == role::assistant)) {
      return fail(at +
                  ": all messages must have non-empty content except for the optional final "
                  "assistant message");
    }
    if (!replay.empty()) said.replay = {"anthropic", json::serialize(replay)};
    return true;
  }

  // The messages this turn becomes, appended to `out`.
  void emit(std::vector<chat_message>& out) {
    if (results.empty()) {
      out.push_back(std::move(said));
      return;
    }
    // Text beside the results stays with them: a new user message would restart the rounds.
    for (auto& p : said.parts) results.back().parts.push_back(std::move(p));
    for (auto& r : results) out.push_back(std::move(r));
  }
};

}  // namespace

const json::string* string_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? v->if_string() : nullptr;
}

bool read_turn(const json::value& m, std::size_t index, bool last, std::vector<chat_message>& out,
               wire_turn& turn, bool& cached, std::string& why) {
  turn_reader r{"messages." + std::to_string(index)};
  if (!r.read(m, last)) {
    why = std::move(r.why);
    return false;
  }
  r.emit(out);
  cached = r.cached;
  turn = std::move(r.turn);
  return true;
}

}  // namespace conclave::mock::detail
