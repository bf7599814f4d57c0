#include <conclave/provider/json_write.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>

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

std::size_t expected_body_bytes(const std::vector<chat_message>& messages) {
  // Escapes (a newline or a quote is two bytes; an eighth is room for one every 16 bytes)
  // and each message's own keys; the request's other fields fit in the constant.
  std::size_t n = 1024;
  for (const auto& m : messages) n += m.size() + m.size() / 8 + 64;
  return n;
}

}  // namespace conclave::provider
