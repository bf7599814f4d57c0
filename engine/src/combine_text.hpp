// Text helpers the combine stage's prompts and reply readers share (combine.cpp: vote and
// select; verify_prompts.cpp: the judge and the revision). Internal to the engine.
#pragma once

#include <conclave/engine/chat.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::detail {

// The bounds of what the prompts copy in besides the answers themselves.
inline constexpr std::size_t max_question = 16 * 1024;
inline constexpr std::size_t max_sub_question = 1000;
inline constexpr std::size_t max_reason = 300;
// A parser looks at no more of a reply than this, and tries at most this many '{' in it.
inline constexpr std::size_t max_reply_scanned = 1024 * 1024;
inline constexpr std::size_t max_object_tries = 64;

/// A system line and the user's body, moved in: a braced list copies its elements.
std::vector<chat_message> system_and_user(std::string system, std::string user);

bool is_space(char c);
bool is_alnum(char c);
char lower(char c);
/// Drops one quote mark (ASCII or typographic) from the front or back; says whether it did.
bool drop_quote(std::string_view& s, bool front);
std::string_view trim(std::string_view s);
std::string lowered(std::string_view s);
/// At most `max` bytes of `s`, cut on a character and marked (text::cut_marked).
std::string cut(std::string_view s, std::size_t max);
/// A short answer as written, without markdown emphasis, surrounding quotes and spaces.
std::string clean(std::string_view s);
/// The line of `s` that starts at `from`, and where the next one starts.
std::string_view line_at(std::string_view s, std::size_t from, std::size_t& next);
/// After a label ending at `at` in `s`: emphasis, spaces or a JSON key's closing quote, then
/// ':'. Where the value starts.
std::optional<std::size_t> after_colon(std::string_view s, std::size_t at);
/// Where the value of the last `label:` (a whole word, any case) starts, in `low` (lower case).
std::optional<std::size_t> last_label(std::string_view low, std::string_view label);
/// "1 answer", "3 answers".
std::string plural(std::size_t n, std::string_view word);

}  // namespace conclave::detail
