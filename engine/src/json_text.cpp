#include <conclave/engine/json_string.hpp>
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

// `indent` < 0: compact. Otherwise objects and arrays holding containers go one member per
// line, two spaces deeper each level; arrays of plain values stay on one line.
void write(std::string& out, const json::value& v, int indent = -1) {
  const bool pretty = indent >= 0;
  auto newline = [&out](int depth) {
    out += '\n';
    out.append(static_cast<std::size_t>(depth) * 2, ' ');
  };
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
      append_json_string(out, v.get_string());
      return;
    case json::kind::array: {
      const auto& a = v.get_array();
      bool nested = false;
      for (const auto& item : a) nested = nested || item.is_structured();
      out += '[';
      bool first = true;
      for (const auto& item : a) {
        if (!first) out += pretty && !nested ? ", " : ",";
        first = false;
        if (pretty && nested) newline(indent + 1);
        write(out, item, pretty ? indent + 1 : -1);
      }
      if (pretty && nested) newline(indent);
      out += ']';
      return;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        if (pretty) newline(indent + 1);
        append_json_string(out, key);
        out += pretty ? ": " : ":";
        write(out, item, pretty ? indent + 1 : -1);
      }
      if (pretty && !v.get_object().empty()) newline(indent);
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

std::string to_pretty_json(const json::value& v) {
  std::string out;
  write(out, v, 0);
  return out;
}

}  // namespace conclave
