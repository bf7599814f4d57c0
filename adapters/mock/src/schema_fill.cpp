// Arguments a tool accepts, made from its JSON Schema alone: enough to drive any MCP server's
// tools (server-everything's echo{message}, add{a,b}) without knowing what they do.
#include <conclave/mock/tool_play.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>

namespace json = boost::json;

namespace conclave::mock {
namespace {

constexpr int max_depth = 16;  // deeper schemas get {} (no $ref is followed, so this is rare)

constexpr std::array<std::string_view, 8> words = {"hello", "world", "mock",  "tools",
                                                   "alpha", "bravo", "delta", "echo"};

// Counts the values made so far, so successive numbers and words differ (a: 2, b: 3).
struct filler {
  int variant = 0;
  int numbers = 0;
  int strings = 0;

  json::value number(const json::object& s, bool integer) {
    double n = 2 + numbers++ + variant;
    if (const auto* lo = s.if_contains("minimum");
        lo && lo->is_number() && n < lo->to_number<double>())
      n = lo->to_number<double>();
    if (const auto* hi = s.if_contains("maximum");
        hi && hi->is_number() && n > hi->to_number<double>())
      n = hi->to_number<double>();
    if (integer || n == static_cast<double>(static_cast<std::int64_t>(n)))
      return static_cast<std::int64_t>(n);
    return n;
  }

  json::value string() {
    return json::string(words[static_cast<std::size_t>(strings++ + variant) % words.size()]);
  }

  // The first type named: "type": "x", or the first non-null of "type": ["x", "null"].
  static std::string_view type_of(const json::object& s) {
    const auto* t = s.if_contains("type");
    if (!t) return {};
    if (t->is_string()) return t->get_string();
    if (const auto* a = t->if_array()) {
      for (const auto& e : *a) {
        if (e.is_string() && e.get_string() != "null") return e.get_string();
      }
      if (!a->empty() && a->front().is_string()) return a->front().get_string();
    }
    return {};
  }

  json::value value(const json::value& schema, int depth) {
    const auto* s = schema.if_object();
    if (!s || depth > max_depth || s->contains("$ref")) return json::object();
    if (const auto* c = s->if_contains("const")) return *c;
    if (const auto* d = s->if_contains("default")) return *d;
    if (const auto* x = s->if_contains("examples"); x && x->is_array() && !x->get_array().empty())
      return x->get_array().front();
    if (const auto* e = s->if_contains("enum"); e && e->is_array() && !e->get_array().empty())
      return e->get_array().front();
    for (const char* branches : {"anyOf", "oneOf", "allOf"}) {
      if (const auto* b = s->if_contains(branches); b && b->is_array() && !b->get_array().empty())
        return value(b->get_array().front(), depth + 1);
    }
    const std::string_view type = type_of(*s);
    if (type == "string") return string();
    if (type == "integer") return number(*s, true);
    if (type == "number") return number(*s, false);
    if (type == "boolean") return true;
    if (type == "null") return nullptr;
    if (type == "array") {
      json::array out;
      if (const auto* items = s->if_contains("items"); items && items->is_object())
        out.push_back(value(*items, depth + 1));
      return out;
    }
    if (type == "object" || s->contains("properties")) return object(*s, depth);
    return string();  // no type said: a word is the likeliest to be accepted
  }

  json::object object(const json::object& s, int depth) {
    json::object out;
    const auto* required = s.if_contains("required");
    if (!required || !required->is_array()) return out;
    const auto* props = s.if_contains("properties");
    const json::object* properties = props ? props->if_object() : nullptr;
    for (const auto& r : required->get_array()) {
      if (!r.is_string()) continue;
      const json::value* property = properties ? properties->if_contains(r.get_string()) : nullptr;
      out[r.get_string()] = property ? value(*property, depth + 1) : string();
    }
    return out;
  }
};

}  // namespace

std::string fill_arguments(std::string_view schema, int variant) {
  boost::system::error_code ec;
  const json::value v = json::parse(schema, ec);
  if (ec || !v.is_object()) return "{}";
  filler f{variant};
  return json::serialize(f.object(v.get_object(), 0));
}

}  // namespace conclave::mock
