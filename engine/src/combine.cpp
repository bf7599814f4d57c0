// Vote, select and verify share the text helpers at the top (cuts, quotes, labels); most of
// the length is lenient reading of what models write.
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

namespace json = boost::json;

namespace conclave {
namespace {

// The bounds of what the prompts copy in besides the answers themselves.
constexpr std::size_t max_question = 16 * 1024;
constexpr std::size_t max_sub_question = 1000;
constexpr std::size_t max_reason = 300;
// A parser looks at no more of a reply than this, and tries at most this many '{' in it.
constexpr std::size_t max_reply_scanned = 1024 * 1024;
constexpr std::size_t max_object_tries = 64;

// A system line and the user's body, moved in: a braced list copies its elements.
std::vector<chat_message> system_and_user(std::string system, std::string user) {
  std::vector<chat_message> out;
  out.reserve(2);
  out.emplace_back(role::system, std::move(system));
  out.emplace_back(role::user, std::move(user));
  return out;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

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

constexpr std::array<std::string_view, 9> quotes = {
    "\"",           "'",        "`",       "\xE2\x80\x9C", "\xE2\x80\x9D", "\xE2\x80\x98",
    "\xE2\x80\x99", "\xC2\xAB", "\xC2\xBB"};  // " ' ` “ ” ‘ ’ « »

// Drops one quote mark from the front or back; says whether it did.
bool drop_quote(std::string_view& s, bool front) {
  for (auto q : quotes) {
    if (front ? s.starts_with(q) : s.ends_with(q)) {
      front ? s.remove_prefix(q.size()) : s.remove_suffix(q.size());
      return true;
    }
  }
  return false;
}

// A short answer as written, without markdown emphasis, surrounding quotes and spaces.
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

// After a label ending at `at` in `s`: emphasis, spaces or a JSON key's closing quote, then ':'.
// Where the value starts.
std::optional<std::size_t> after_colon(std::string_view s, std::size_t at) {
  while (at < s.size() && (s[at] == '*' || s[at] == '_' || s[at] == ' ' || s[at] == '"')) ++at;
  if (at >= s.size() || s[at] != ':') return std::nullopt;
  return at + 1;
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

std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string plural(std::size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

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

std::optional<verdict> read_verdict(std::string_view said) {
  std::string v = lowered(clean(said));
  for (char& c : v) {
    if (c == ' ' || c == '-') c = '_';
  }
  if (v.starts_with("pass")) return verdict::pass;
  if (v.starts_with("fail")) return verdict::fail;
  if (v.starts_with("needs_improvement") || v.starts_with("needs_work") ||
      v.find("improve") != std::string::npos) {
    return verdict::needs_improvement;
  }
  return std::nullopt;
}

// A critique as kept: trimmed, at most max_critique bytes, valid UTF-8.
std::string critique_of(std::string_view s) {
  return text::to_valid_utf8(text::utf8_prefix(trim(s), max_critique));
}

const json::string* string_field(const json::object& o, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (const auto* v = o.if_contains(key); v && v->is_string()) return &v->get_string();
  }
  return nullptr;
}

// The first JSON object in `s` (fenced or amid prose) that holds a readable verdict.
std::optional<judgment> judgment_in_json(std::string_view s) {
  std::size_t tries = 0;
  for (auto at = s.find('{'); at != std::string_view::npos && tries < max_object_tries;
       at = s.find('{', at + 1), ++tries) {
    json::stream_parser p;
    boost::system::error_code ec;
    // write_some stops at the end of the first complete value, so prose after it is no harm.
    p.write_some(s.data() + at, s.size() - at, ec);
    if (ec || !p.done()) continue;
    const json::value v = p.release();
    const auto* o = v.if_object();
    if (!o) continue;
    const auto* grade = string_field(*o, {"verdict", "grade", "result"});
    if (!grade) continue;
    const auto read = read_verdict(std::string_view(*grade));
    if (!read) continue;
    judgment j{*read, {}};
    if (const auto* c = string_field(*o, {"critique", "feedback", "reason", "comments"})) {
      j.critique = critique_of(std::string_view(*c));
    }
    return j;
  }
  return std::nullopt;
}

// `VERDICT: fail` and `CRITIQUE: ...` lines (the last of each).
std::optional<judgment> judgment_in_lines(std::string_view s) {
  const std::string low = lowered(s);
  const auto v = last_label(low, "verdict");
  if (!v) return std::nullopt;
  std::size_t next = 0;
  const auto grade = read_verdict(line_at(s, *v, next));
  if (!grade) return std::nullopt;
  judgment j{*grade, {}};
  if (const auto c = last_label(low, "critique")) {
    std::string said = clean(line_at(s, *c, next));
    if (said.empty() && next < s.size()) said = clean(line_at(s, next, next));
    // A JSON object cut short, read as lines: `"critique": "...",` loses its `",}`.
    std::string_view kept = said;
    while (!kept.empty() && (kept.back() == ',' || kept.back() == '}' || is_space(kept.back()))) {
      kept.remove_suffix(1);
    }
    j.critique = critique_of(clean(kept));
  }
  return j;
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

const char* to_string(verdict v) noexcept {
  switch (v) {
    case verdict::pass:
      return "pass";
    case verdict::needs_improvement:
      return "needs_improvement";
    case verdict::fail:
      return "fail";
  }
  return "pass";
}

std::vector<chat_message> judge_prompt(std::string_view question, const decision& d,
                                       std::size_t max_answer_chars) {
  std::string body = "Grade this answer to one part of a larger question.\nQuestion: " +
                     cut(question, max_question) +
                     "\nSub-question: " + cut(d.sub_question, max_sub_question) + "\n";
  if (!d.answer.empty() && d.status != agent_status::ok) {
    body += "Note: the answer is partial (" + cut(d.reason, max_reason) + ").\n";
  } else if (const char* mark = answer_mark(d.stop); *mark) {
    body += "Note: the answer is " + std::string(mark) + ".\n";
  }
  body += "<answer>\n" +
          (d.answer.empty() ? std::string("(no answer)") : cut(d.answer, max_answer_chars)) +
          "\n</answer>\n\n"
          "Reply with a JSON object and nothing else: {\"verdict\": \"pass\" | "
          "\"needs_improvement\" | \"fail\", \"critique\": \"...\"}. pass: correct, supported "
          "and on the point of the sub-question. needs_improvement: right in substance but "
          "missing something that matters. fail: wrong, unsupported or off the point. The "
          "critique says in a few sentences what to fix.";
  return system_and_user(
      "You are a strict, fair reviewer of one expert's answer. Judge only what the answer "
      "says; do not answer the question yourself.",
      std::move(body));
}

std::optional<judgment> parse_judgment(std::string_view reply) {
  try {
    reply = reply.substr(0, std::min(reply.size(), max_reply_scanned));
    if (auto j = judgment_in_json(reply)) return j;
    return judgment_in_lines(reply);
  } catch (const std::exception&) {
    return std::nullopt;  // out of memory while parsing: no verdict read
  }
}

std::vector<chat_message> revise_prompt(std::string_view question, std::string_view sub_question,
                                        std::string_view previous_answer, std::string_view critique,
                                        const std::vector<decision>& others,
                                        std::size_t max_answer_chars) {
  std::string body =
      "Revise your answer to the question below: a reviewer found a problem with it.\n"
      "Question: " +
      cut(sub_question, max_sub_question) +
      "\nIt is one part of the larger question: " + cut(question, max_question) +
      "\n\nYour previous answer:\n" + cut(previous_answer, max_answer_chars) +
      "\n\nThe reviewer's critique:\n" + cut(critique, max_critique) + "\n";
  // The other agents' answers share one budget, so many agents cannot blow up the prompt.
  const std::size_t budget = max_answer_chars > SIZE_MAX / 4 ? SIZE_MAX : max_answer_chars * 4;
  std::size_t spent = 0;
  std::size_t shown = 0;
  std::size_t left_out = 0;
  for (const auto& d : others) {
    if (!has_answer(d.status) || d.answer.empty()) continue;
    if (spent >= budget) {
      ++left_out;
      continue;
    }
    if (shown == 0) body += "\nWhat the other agents answered (for reference):\n";
    const std::string part = "\n[" + std::to_string(++shown) +
                             "] On: " + cut(d.sub_question, max_sub_question) + "\n" +
                             cut(d.answer, std::min(max_answer_chars, budget - spent)) + "\n";
    spent += part.size();
    body += part;
  }
  if (left_out > 0) {
    body += "\n(" + plural(left_out, "more answer") + " left out for length.)\n";
  }
  body +=
      "\nWrite your whole improved answer: fix what the critique names, use what the others "
      "found where it helps, and keep the conclusion at the end.";
  return system_and_user(
      "You are one of several expert agents. Improve your own answer after review; do not "
      "copy the other agents blindly.",
      std::move(body));
}

}  // namespace conclave
