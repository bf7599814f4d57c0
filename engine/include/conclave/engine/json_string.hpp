// A string as a JSON string literal, written without Boost.JSON's allocations: for the writers
// that build JSON text by hand (the HTTP router's error bodies, request bodies whose large texts
// are written in place). Header-only, so the HTTP library (which links no engine code) shares it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace conclave {

/// `s` as a JSON string literal (quotes included), escaped as Boost.JSON escapes it: quote,
/// backslash and control characters (\b \f \n \r \t, else \u00XX); other bytes as they are.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    out += '\\';
    switch (c) {
      case '"':
      case '\\':
        out += static_cast<char>(c);
        break;
      case '\n':
        out += 'n';
        break;
      case '\r':
        out += 'r';
        break;
      case '\t':
        out += 't';
        break;
      case '\b':
        out += 'b';
        break;
      case '\f':
        out += 'f';
        break;
      default:
        out += "u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

/// The size of append_json_string's output for `s`.
inline std::size_t json_string_bytes(std::string_view s) {
  std::size_t n = s.size() + 2;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
      n += 1;
    } else if (c < 0x20) {
      n += 5;
    }
  }
  return n;
}

}  // namespace conclave
