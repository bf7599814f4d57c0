// Text that crosses a process boundary (server bodies, model replies, user input) made safe to
// keep, print and serialise: valid UTF-8, cut on character boundaries, secrets redacted,
// terminal control sequences neutralised. Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::text {

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

/// True when `s` holds nothing but spaces, tabs and line ends (or nothing at all).
bool is_blank(std::string_view s) noexcept;

/// `s` with every ill-formed sequence replaced by U+FFFD (one per maximal bad subpart, as
/// Unicode's "substitution of maximal subparts" recommends). Valid input comes back unchanged.
std::string to_valid_utf8(std::string_view s);

/// The longest prefix of `s` of at most `max_bytes` bytes that does not end inside a UTF-8
/// character (only the cut is moved: ill-formed bytes elsewhere are left as they are).
std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) noexcept;

/// At most `max_bytes` of `s` (a UTF-8 boundary), followed by " [cut: N more characters]" when
/// anything was cut: how prompts show a bounded decision.
std::string cut_marked(std::string_view s, std::size_t max_bytes);

/// For diagnostics: valid UTF-8, at most `max_bytes` bytes of the original cut on a character
/// boundary, with "..." appended when it was cut.
std::string quote(std::string_view s, std::size_t max_bytes);

/// Secrets that must never be printed (API keys). Empty and very short values are ignored:
/// redacting "a" would shred every message.
class redactor {
 public:
  redactor() = default;
  explicit redactor(std::vector<std::string> secrets);
  void add(std::string secret);
  bool empty() const noexcept { return secrets_.empty(); }

  /// `s` with every occurrence of a secret replaced by "[REDACTED]" (a "Bearer <secret>"
  /// becomes "Bearer [REDACTED]").
  std::string apply(std::string_view s) const;
  /// In place; returns whether anything was replaced.
  bool apply_in_place(std::string& s) const;

 private:
  std::vector<std::string> secrets_;
};

/// For a terminal: C0 and C1 control characters (ESC, CSI, BEL, backspace, CR...) and DEL
/// become visible U+FFFD, so model text cannot move the cursor, retitle the window or hide
/// output. Newlines and tabs are kept when `keep_newlines`. Invalid UTF-8 is repaired first.
std::string for_terminal(std::string_view s, bool keep_newlines = true);

/// Display columns of a UTF-8 string on a terminal (East Asian wide characters and most emoji
/// take 2, combining marks and zero-width characters 0, controls count as 1).
int display_width(std::string_view s) noexcept;

/// Display columns of one code point, as above.
int code_point_width(char32_t cp) noexcept;

/// The longest prefix of `s` that fits in `columns` display columns; with `ellipsis`, a cut
/// string ends in "…" (inside the same width).
std::string fit_columns(std::string_view s, int columns, bool ellipsis = true);

}  // namespace conclave::text
