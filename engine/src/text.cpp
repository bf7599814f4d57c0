#include <conclave/engine/text.hpp>

#include <algorithm>
#include <array>

namespace conclave::text {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

struct decoded {
  char32_t cp = 0;
  std::size_t length = 1;  // bytes consumed: the character, or the maximal bad subpart
  bool ok = false;
};

bool in(unsigned char c, unsigned char lo, unsigned char hi) { return c >= lo && c <= hi; }

// One character at `i` (Unicode 15, table 3-7 "well-formed UTF-8 byte sequences").
decoded decode(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return {b0, 1, true};
  int need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range allowed for the second byte
  char32_t cp = 0;
  if (in(b0, 0xC2, 0xDF)) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (in(b0, 0xE0, 0xEF)) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (in(b0, 0xF0, 0xF4)) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return {0, 1, false};
  }
  for (int k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return {0, static_cast<std::size_t>(k), false};
    const unsigned char b = byte(static_cast<std::size_t>(k));
    const bool fits = k == 1 ? in(b, lo, hi) : in(b, 0x80, 0xBF);
    if (!fits) return {0, static_cast<std::size_t>(k), false};
    cp = (cp << 6) | (b & 0x3F);
  }
  return {cp, static_cast<std::size_t>(need) + 1, true};
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

struct range {
  char32_t first, last;
};

// Zero-width: combining marks, zero-width spaces and joiners, variation selectors.
constexpr std::array<range, 22> zero_width{{
    {0x0300, 0x036F},   {0x0483, 0x0489},   {0x0591, 0x05BD}, {0x0610, 0x061A}, {0x064B, 0x065F},
    {0x0E31, 0x0E31},   {0x0E34, 0x0E3A},   {0x0E47, 0x0E4E}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},
    {0x200B, 0x200F},   {0x202A, 0x202E},   {0x2060, 0x2064}, {0x20D0, 0x20FF}, {0x302A, 0x302D},
    {0x3099, 0x309A},   {0xFE00, 0xFE0F},   {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}, {0x1F3FB, 0x1F3FF},
    {0xE0000, 0xE007F}, {0xE0100, 0xE01EF},
}};

// Two columns: East Asian Wide and Fullwidth, and emoji presentation blocks.
constexpr std::array<range, 19> wide{{
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
    {0x2E80, 0x303E},   {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},
    {0xA000, 0xA4CF},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE30, 0xFE4F},
    {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF},
    {0x1F900, 0x1F9FF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
}};

template <std::size_t N>
bool listed(const std::array<range, N>& table, char32_t cp) {
  const auto it = std::upper_bound(table.begin(), table.end(), cp,
                                   [](char32_t c, const range& r) { return c < r.first; });
  return it != table.begin() && cp <= std::prev(it)->last;
}

// C0, DEL, C1, and the bidirectional overrides and isolates that can reorder what a terminal
// shows (U+202A-202E, U+2066-2069: "Trojan Source").
bool is_control(char32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

bool is_blank(std::string_view s) noexcept {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

bool is_valid_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const decoded d = decode(s, i);
    if (!d.ok) return false;
    i += d.length;
  }
  return true;
}

std::string to_valid_utf8(std::string_view s) {
  if (is_valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (std::size_t i = 0; i < s.size();) {
    const decoded d = decode(s, i);
    if (d.ok) {
      out.append(s.substr(i, d.length));
    } else {
      out.append(replacement);
    }
    i += d.length;
  }
  return out;
}

std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) noexcept {
  if (s.size() <= max_bytes) return s;
  std::size_t cut = max_bytes;
  // Step back over continuation bytes (at most 3) to the start of the character that straddles
  // the cut; drop it if it does not fit whole.
  std::size_t back = 0;
  while (cut > 0 && back < 3 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
    --cut;
    ++back;
  }
  // Backed up to something that is not a lead byte (ASCII, or more continuation bytes): the
  // bytes at the cut are not a character anyway, so cutting through them splits nothing.
  if (static_cast<unsigned char>(s[cut]) < 0xC0) cut = max_bytes;
  return s.substr(0, cut);
}

std::string cut_marked(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  const std::string_view kept = utf8_prefix(s, max_bytes);
  return std::string(kept) + " [cut: " + std::to_string(s.size() - kept.size()) +
         " more characters]";
}

std::string quote(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return to_valid_utf8(s);
  return to_valid_utf8(utf8_prefix(s, max_bytes)) + "...";
}

redactor::redactor(std::vector<std::string> secrets) {
  for (auto& s : secrets) add(std::move(s));
}

void redactor::add(std::string secret) {
  // Shorter than this, a "secret" is a test value or a mistake, and redacting it would
  // shred ordinary words; real API keys are dozens of characters.
  constexpr std::size_t min_secret = 8;
  if (secret.size() < min_secret) return;
  if (std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end()) return;
  secrets_.push_back(std::move(secret));
  // Longest first, so a secret that contains another is replaced whole.
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

bool redactor::apply_in_place(std::string& s) const {
  bool changed = false;
  for (const auto& secret : secrets_) {
    for (auto at = s.find(secret); at != std::string::npos; at = s.find(secret, at)) {
      s.replace(at, secret.size(), "[REDACTED]");
      at += 10;
      changed = true;
    }
  }
  return changed;
}

std::string redactor::apply(std::string_view s) const {
  std::string out(s);
  apply_in_place(out);
  return out;
}

std::string for_terminal(std::string_view s, bool keep_newlines) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const decoded d = decode(s, i);
    if (keep_newlines && d.ok && d.cp == '\r' && i + 1 < s.size() && s[i + 1] == '\n') {
      i += 1;  // CRLF is a line end, not a stray carriage return
      continue;
    }
    if (!d.ok) {
      out.append(replacement);
    } else if (is_control(d.cp) && !(keep_newlines && (d.cp == '\n' || d.cp == '\t'))) {
      out.append(replacement);
    } else {
      out.append(s.substr(i, d.length));
    }
    i += d.length;
  }
  return out;
}

int code_point_width(char32_t cp) noexcept {
  if (cp == 0) return 0;
  if (listed(zero_width, cp)) return 0;
  if (listed(wide, cp)) return 2;
  return 1;
}

int display_width(std::string_view s) noexcept {
  int cols = 0;
  for (std::size_t i = 0; i < s.size();) {
    const decoded d = decode(s, i);
    cols += d.ok ? code_point_width(d.cp) : 1;
    i += d.length;
  }
  return cols;
}

std::string fit_columns(std::string_view s, int columns, bool ellipsis) {
  if (columns <= 0) return {};
  if (display_width(s) <= columns) return std::string(s);
  const int room = ellipsis ? columns - 1 : columns;  // "…" takes one column
  std::string out;
  int cols = 0;
  for (std::size_t i = 0; i < s.size();) {
    const decoded d = decode(s, i);
    const int w = d.ok ? code_point_width(d.cp) : 1;
    if (cols + w > room) break;
    if (d.ok) {
      append_utf8(out, d.cp);
    } else {
      out.append(replacement);
    }
    cols += w;
    i += d.length;
  }
  if (ellipsis) out += "\xE2\x80\xA6";
  return out;
}

}  // namespace conclave::text
