#include <conclave/engine/json_text.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cmath>

namespace json = boost::json;

namespace conclave {
namespace {

void write_number(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[400];  // enough for any double in fixed notation (at most ~330 characters)
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  if (ec != std::errc{}) {
    out += "null";
    return;
  }
  out.append(buf, end);
}

void write(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case json::kind::int64:
      out += std::to_string(v.get_int64());
      return;
    case json::kind::uint64:
      out += std::to_string(v.get_uint64());
      return;
    case json::kind::double_:
      write_number(out, v.get_double());
      return;
    case json::kind::string:
      out += json::serialize(v.get_string());
      return;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write(out, item);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string_view(key));
        out += ':';
        write(out, item);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string to_plain_json(const json::value& v) {
  std::string out;
  write(out, v);
  return out;
}

}  // namespace conclave
