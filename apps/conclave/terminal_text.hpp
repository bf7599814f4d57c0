// Text for one terminal line, shared by the live table and the plain progress lines.
#pragma once

#include <conclave/engine/text.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

namespace conclave::cli {

/// "  1.25s": seconds, right-aligned in six columns.
inline std::string seconds(std::chrono::microseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%6.2fs", static_cast<double>(d.count()) / 1e6);
  return buf;
}

/// Model or provider text made fit for one terminal line: line breaks and tabs become spaces
/// (a row must stay one row), every other control character becomes a visible U+FFFD, so a
/// sub-question cannot move the cursor, retitle the window or clear the screen. With
/// `max_columns`, only a prefix is neutralised: a row shows a few dozen columns of what may be
/// kilobytes (a prefix of 4 bytes per column plus slack still overflows the row, so the cut
/// that follows shows its ellipsis).
inline std::string one_line(std::string_view s, int max_columns = -1) {
  if (max_columns >= 0) s = text::utf8_prefix(s, static_cast<std::size_t>(max_columns) * 4 + 16);
  std::string flat(s);
  for (char& c : flat) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text::for_terminal(flat, false);
}

}  // namespace conclave::cli
