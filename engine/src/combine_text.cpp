#include "combine_text.hpp"

#include <conclave/engine/text.hpp>

#include <array>
#include <cctype>

namespace conclave::detail {
namespace {

constexpr std::array<std::string_view, 9> quotes = {
    "\"",           "'",        "`",       "\xE2\x80\x9C", "\xE2\x80\x9D", "\xE2\x80\x98",
    "\xE2\x80\x99", "\xC2\xAB", "\xC2\xBB"};  // " ' ` “ ” ‘ ’ « »

}  // namespace

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool drop_quote(std::string_view& s, bool front) {
  for (auto q : quotes) {
    if (front ? s.starts_with(q) : s.ends_with(q)) {
      front ? s.remove_prefix(q.size()) : s.remove_suffix(q.size());
      return true;
    }
  }
  return false;
}

std::optional<std::size_t> after_colon(std::string_view s, std::size_t at) {
  while (at < s.size() && (s[at] == '*' || s[at] == '_' || s[at] == ' ' || s[at] == '"')) ++at;
  if (at >= s.size() || s[at] != ':') return std::nullopt;
  return at + 1;
}

std::vector<chat_message> system_and_user(std::string system, std::string user) {
  std::vector<chat_message> out;
  out.reserve(2);
  out.emplace_back(role::system, std::move(system));
  out.emplace_back(role::user, std::move(user));
  return out;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string cut(std::string_view s, std::size_t max) { return text::cut_marked(s, max); }

std::string clean(std::string_view s) {
  std::string no_bold;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "**") == 0) {
      ++i;
      continue;
    }
    no_bold += s[i];
  }
  std::string_view v = no_bold;
  for (bool changed = true; changed;) {
    const std::size_t before = v.size();
    v = trim(v);
    while (!v.empty() && (v.front() == '*' || v.front() == '_')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == '*' || v.back() == '_')) v.remove_suffix(1);
    drop_quote(v, true);
    drop_quote(v, false);
    changed = v.size() != before;
  }
  return std::string(v);
}

// The line of `s` that starts at `from`, and where the next one starts.
std::string_view line_at(std::string_view s, std::size_t from, std::size_t& next) {
  const auto nl = s.find('\n', from);
  next = nl == std::string_view::npos ? s.size() : nl + 1;
  return s.substr(from, (nl == std::string_view::npos ? s.size() : nl) - from);
}

// Where the value of the last `label:` (a whole word, any case) starts, in `low` (lower case).
std::optional<std::size_t> last_label(std::string_view low, std::string_view label) {
  std::optional<std::size_t> found;
  for (auto at = low.find(label); at != std::string_view::npos; at = low.find(label, at + 1)) {
    if (at > 0 && is_alnum(low[at - 1])) continue;
    if (auto v = after_colon(low, at + label.size())) found = v;
  }
  return found;
}

std::string plural(std::size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

}  // namespace conclave::detail
