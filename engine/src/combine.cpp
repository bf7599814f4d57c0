// Vote and select: their prompts and the lenient reading of what models write back. The
// verify stage's judge and revision are in verify_prompts.cpp; the helpers both share, in
// combine_text.cpp.
#include "combine_text.hpp"

#include <conclave/engine/combine.hpp>
#include <conclave/engine/report.hpp>
#include <conclave/engine/text.hpp>

#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <unordered_map>

namespace conclave {
namespace {

using namespace detail;

std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Digits at `s[at]` on, capped so they cannot overflow; nullopt when there are none.
std::optional<std::size_t> digits_at(std::string_view s, std::size_t at) {
  std::size_t n = 0;
  std::size_t i = at;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
    n = std::min<std::size_t>(1'000'000'000'000, n * 10 + static_cast<std::size_t>(s[i] - '0'));
  }
  if (i == at) return std::nullopt;
  return n;
}

}  // namespace

std::string_view vote_instruction() noexcept {
  return "When you are done, end with one line \"ANSWER: <a few words>\" that gives your answer "
         "in as few words as you can (a number, a name, yes or no), so that the agents' answers "
         "can be counted. Write nothing after that line.";
}

std::optional<std::string> extract_short_answer(std::string_view decision_text) {
  const std::string low = lowered(decision_text);
  std::string found;
  if (const auto at = last_label(low, "answer")) {
    std::size_t next = 0;
    found = clean(line_at(decision_text, *at, next));
    // "ANSWER:" alone on its line: the answer is on the next line that says something.
    while (found.empty() && next < decision_text.size()) {
      found = clean(line_at(decision_text, next, next));
    }
    if (found.empty()) return std::nullopt;
  } else {
    std::string_view rest = trim(decision_text);
    const auto nl = rest.rfind('\n');
    const std::string_view last = trim(nl == std::string_view::npos ? rest : rest.substr(nl + 1));
    if (last.empty() || code_points(last) > 80) return std::nullopt;
    found = clean(last);
    if (found.empty()) return std::nullopt;
  }
  // Kept, counted and printed: valid UTF-8 whatever the model wrote.
  return text::to_valid_utf8(trim(text::utf8_prefix(found, max_short_answer)));
}

std::string normalize_answer(std::string_view short_answer) {
  std::string collapsed;
  bool space = false;
  for (char c : short_answer) {
    if (is_space(c)) {
      space = !collapsed.empty();
      continue;
    }
    if (space) collapsed += ' ';
    space = false;
    collapsed += lower(c);
  }
  std::string_view v = collapsed;
  for (bool changed = true; changed;) {
    const std::size_t before = v.size();
    v = trim(v);
    while (!v.empty() && std::string_view(".!?;:").find(v.back()) != std::string_view::npos) {
      v.remove_suffix(1);
    }
    drop_quote(v, true);
    drop_quote(v, false);
    changed = v.size() != before;
  }
  return std::string(v);
}

vote_tally tally_votes(const std::vector<decision>& decisions) {
  vote_tally t;
  std::unordered_map<std::string, std::size_t> index;  // normalized answer -> option
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    const auto& d = decisions[i];
    if (!has_answer(d.status) || d.answer.empty()) continue;
    const auto said = extract_short_answer(d.answer);
    std::string key = said ? normalize_answer(*said) : std::string();
    if (key.empty()) {
      ++t.abstained;
      continue;
    }
    ++t.voters;
    auto [it, added] = index.try_emplace(std::move(key), t.options.size());
    if (added) t.options.push_back({*said, {}});
    t.options[it->second].agents.push_back(i);
  }
  std::stable_sort(t.options.begin(), t.options.end(),
                   [](const auto& a, const auto& b) { return a.agents.size() > b.agents.size(); });
  if (t.options.empty()) {
    t.note = "no agent gave a short answer";
    return t;
  }
  const std::size_t top = t.options[0].agents.size();
  t.tie = t.options.size() > 1 && t.options[1].agents.size() == top;
  if (!t.tie) {
    t.winner = 0;
    t.note = std::to_string(top) + " of " + plural(decisions.size(), "agent") + " answered " +
             quoted(t.options[0].answer);
  } else {
    // Name at most five of the tied answers: the line stays short however many agents ran.
    constexpr std::size_t named = 5;
    std::size_t tied = 0;
    while (tied < t.options.size() && t.options[tied].agents.size() == top) ++tied;
    t.note = "tie between ";
    for (std::size_t k = 0; k < std::min(tied, named); ++k) {
      if (k > 0) t.note += k + 1 == std::min(tied, named) && tied <= named ? " and " : ", ";
      t.note += quoted(t.options[k].answer) + " (" + std::to_string(top) + ")";
    }
    if (tied > named) t.note += " and " + std::to_string(tied - named) + " more";
  }
  if (t.abstained > 0) t.note += "; " + std::to_string(t.abstained) + " gave no short answer";
  return t;
}

std::vector<chat_message> select_prompt(std::string_view question,
                                        const std::vector<decision>& decisions,
                                        std::size_t max_answer_chars) {
  std::string body = "Question: " + cut(question, max_question) + "\n\nAnswers:\n";
  std::size_t n = 0;
  for (const auto& d : decisions) {
    if (!has_answer(d.status) || d.answer.empty()) continue;
    body += "\n[Answer " + std::to_string(++n) + "]\n";
    if (!d.sub_question.empty() && d.sub_question != question) {
      body += "(to: " + cut(d.sub_question, max_sub_question) + ")\n";
    }
    body += cut(d.answer, max_answer_chars) + "\n";
  }
  body +=
      "\nWhich answer is the most consistent with the others: the one whose main claims the "
      "most other answers share? Give one sentence of reason, then end with one line "
      "\"SELECTED: <number>\", a number from 1 to " +
      std::to_string(n) + ".";
  return system_and_user(
      "You compare independent answers to one question and pick the one most consistent "
      "with the others. Do not write a new answer and do not merge them.",
      std::move(body));
}

std::optional<std::size_t> parse_selection(std::string_view reply, std::size_t count) {
  reply = reply.substr(0, std::min(reply.size(), max_reply_scanned));
  const std::string low = lowered(reply);
  std::optional<std::size_t> picked;
  // The last "SELECTED:" followed by a number: "SELECTED: 2", "SELECTED: **Answer 2**", "[2]".
  for (auto at = low.find("selected"); at != std::string::npos; at = low.find("selected", at + 1)) {
    auto v = after_colon(low, at + 8);
    if (!v || (at > 0 && is_alnum(low[at - 1]))) continue;
    std::size_t i = *v;
    while (i < low.size() && std::string_view(" *_#[(").find(low[i]) != std::string_view::npos) {
      ++i;
    }
    if (low.compare(i, 6, "answer") == 0) i += 6;
    while (i < low.size() && (low[i] == ' ' || low[i] == '#' || low[i] == '[')) ++i;
    if (auto n = digits_at(low, i)) picked = n;
  }
  if (!picked) {
    // A reply that is only a number ("2", "**2.**", "[2]").
    std::string_view only = trim(reply);
    while (!only.empty() &&
           std::string_view("*_[(#`").find(only.front()) != std::string_view::npos) {
      only.remove_prefix(1);
    }
    while (!only.empty() &&
           std::string_view("*_])`.").find(only.back()) != std::string_view::npos) {
      only.remove_suffix(1);
    }
    if (!only.empty() &&
        std::all_of(only.begin(), only.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      picked = digits_at(only, 0);
    }
  }
  if (!picked || *picked < 1 || *picked > count) return std::nullopt;
  return *picked - 1;
}

}  // namespace conclave
