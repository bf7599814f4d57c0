// Refusing text that would break out of an HTTP request head: a CR or LF in a header value
// ends the header early and lets the rest be read as headers of its own (header injection);
// NUL and the other controls are refused by careful servers and cut C strings short.
// Pure functions.
#pragma once

#include <cstddef>
#include <string_view>

namespace conclave::http {

/// Offset of the first C0 control character (tab included) or DEL in `s`; npos when none.
std::size_t find_control_char(std::string_view s) noexcept;

/// True when `value` can go into a request header as it is: no control character but tab.
bool is_safe_header_value(std::string_view value) noexcept;

}  // namespace conclave::http
