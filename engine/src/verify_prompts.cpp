// The verify stage's texts: the judge's prompt and the lenient reading of its verdict (a JSON
// object, or VERDICT / CRITIQUE lines), and the revision's prompt.
#include "combine_text.hpp"

#include <conclave/engine/combine.hpp>
#include <conclave/engine/report.hpp>
#include <conclave/engine/text.hpp>

#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdint>

namespace json = boost::json;

namespace conclave {
namespace {

using namespace detail;

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
