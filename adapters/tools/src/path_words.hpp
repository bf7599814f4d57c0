// How the file tools name a path and refuse a call, shared by reads and writes.
#pragma once

#include <conclave/engine/text.hpp>
#include <conclave/engine/tool.hpp>

#include <string>
#include <string_view>

namespace conclave::tools::detail {

// The path as the caller wrote it, safe to show (bounded, valid UTF-8, no controls).
inline std::string shown(std::string_view path) {
  return "'" + text::for_terminal(text::quote(path, 200), false) + "'";
}

inline tool_output refusal(std::string what) { return {std::move(what), true}; }

}  // namespace conclave::tools::detail
