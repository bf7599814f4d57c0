#include <conclave/provider/json_write.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>

#include <stdexcept>

namespace conclave::provider {
namespace {

// Boost.JSON's own stack buffer: a body that fits is written there first.
constexpr std::size_t small_body_bytes = 4096;

}  // namespace

std::string_view text_of(const chat_message& m, std::string& joined) {
  if (m.parts.size() == 1) {
    if (const auto* t = std::get_if<text_part>(&m.parts.front())) return t->text;
  }
  joined = m.text();
  return joined;
}

std::string serialize_sized(const boost::json::object& v, std::size_t expected_bytes) {
  // A small body is serialized on the stack and copied out at its size: an estimate's slack
  // (a few hundred bytes) would stay in every agent's request until it is written.
  if (expected_bytes <= small_body_bytes) return boost::json::serialize(v);
  boost::json::serializer writer;
  writer.reset(&v);
  std::string out;
  out.resize(expected_bytes);
  std::size_t used = 0;
  while (!writer.done()) {
    if (used == out.size()) out.resize(out.size() * 2);  // more escapes than the margin
    used += writer.read(out.data() + used, out.size() - used).size();
  }
  out.resize(used);
  return out;
}

std::size_t expected_body_bytes(const chat_request& req) {
  // A message of one text (every message of a merge prompt): its escaped size, counted. Others:
  // an eighth more for escapes. Each message's own keys: 64 bytes; a tool's, 96; the request's
  // other fields fit in the constant.
  std::size_t n = 1024;
  for (const auto& m : req.messages) {
    const auto* text = m.parts.size() == 1 ? std::get_if<text_part>(&m.parts.front()) : nullptr;
    if (text && m.reasoning.empty() && m.replay.json.empty()) {
      n += json_string_bytes(text->text) + 64;
    } else {
      n += m.size() + m.size() / 8 + 64;
    }
  }
  for (const auto& t : req.tools) {
    n += json_string_bytes(t.name) + json_string_bytes(t.description) + t.parameters.size() + 96;
  }
  return n;
}

void body_texts::assign(boost::json::value& slot, std::string_view text) {
  if (text.size() < in_place_bytes) {
    slot = text;
    return;
  }
  slot = boost::json::string(slot.storage());
  texts_.emplace_back(&slot, text);
}

namespace {

// The document written by hand, each placeholder as its text; counts what it found.
struct placeholder_writer {
  const std::vector<std::pair<const boost::json::value*, std::string_view>>& texts;
  std::string& out;
  std::size_t found = 0;

  void write(const boost::json::value& v) {
    switch (v.kind()) {
      case boost::json::kind::object: {
        out += '{';
        bool first = true;
        for (const auto& field : v.get_object()) {
          if (!first) out += ',';
          first = false;
          append_json_string(out, field.key());
          out += ':';
          write(field.value());
        }
        out += '}';
        return;
      }
      case boost::json::kind::array: {
        out += '[';
        bool first = true;
        for (const auto& item : v.get_array()) {
          if (!first) out += ',';
          first = false;
          write(item);
        }
        out += ']';
        return;
      }
      case boost::json::kind::string:
        for (const auto& [slot, text] : texts) {
          if (slot == &v) {
            ++found;
            return append_json_string(out, text);
          }
        }
        return append_json_string(out, v.get_string());
      default:  // numbers, booleans, null: as Boost.JSON writes them
        out += boost::json::serialize(v);
    }
  }
};

}  // namespace

std::string body_texts::serialize(const boost::json::object& doc,
                                  std::size_t expected_bytes) const {
  if (texts_.empty()) return serialize_sized(doc, expected_bytes);
  std::string out;
  out.reserve(expected_bytes);
  placeholder_writer writer{texts_, out};
  out += '{';
  bool first = true;
  for (const auto& field : doc) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, field.key());
    out += ':';
    writer.write(field.value());
  }
  out += '}';
  if (writer.found != texts_.size()) {
    throw std::logic_error("a request body's placeholder was copied, not moved");
  }
  return out;
}

}  // namespace conclave::provider
