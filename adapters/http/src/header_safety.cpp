#include <conclave/http/header_safety.hpp>

namespace conclave::http {
namespace {

bool is_control(unsigned char c) noexcept { return c < 0x20 || c == 0x7f; }

}  // namespace

std::size_t find_control_char(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (is_control(static_cast<unsigned char>(s[i]))) return i;
  }
  return std::string_view::npos;
}

bool is_safe_header_value(std::string_view value) noexcept {
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_control(c) && c != '\t') return false;  // RFC 9110 field values allow HTAB
  }
  return true;
}

}  // namespace conclave::http
