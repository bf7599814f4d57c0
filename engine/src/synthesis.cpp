#include <conclave/engine/synthesis.hpp>
#include <conclave/engine/text.hpp>

#include <algorithm>

namespace conclave {
namespace {

std::string cut(std::string_view s, std::size_t max) { return text::cut_marked(s, max); }

// One decision as the merge prompt reads it: views into a decision, or into an agent's report
// (so a prompt of thousands of reports copies none of their texts), and the reason made for a
// report that has none to point at (read through reason(): a view of its own member would not
// survive a copy).
struct decision_view {
  std::string_view sub_question;
  agent_status status = agent_status::ok;
  std::string_view answer;
  std::string_view given_reason;
  stop_reason stop = stop_reason::unknown;
  std::string made_reason;

  std::string_view reason() const noexcept {
    return made_reason.empty() ? given_reason : std::string_view(made_reason);
  }
};

decision_view view(const decision& d) {
  return {d.sub_question, d.status, d.answer, d.reason, d.stop, {}};
}

// As decisions_of makes a report's decision.
decision_view view(const agent_report& a) {
  decision_view d{a.sub_question, a.status, {}, {}, a.stop, {}};
  if (has_answer(a.status) && !a.answer.empty()) {
    d.answer = a.answer;
    if (a.status != agent_status::ok) d.given_reason = a.diag.message;  // what cut it short
  } else {
    d.made_reason = a.error ? a.error.message() : std::string(to_string(a.status));
  }
  return d;
}

// Decision `n` (from 1) of the prompt, appended to `out`; false when it has no decision.
bool append_decision(std::string& out, std::size_t n, const decision_view& d,
                     std::size_t max_answer_chars) {
  out.append("\n[").append(std::to_string(n)).append("] Sub-question: ");
  out.append(d.sub_question).append("\n");
  if (d.answer.empty()) {
    out.append("Status: ").append(to_string(d.status)).append(" (").append(d.reason());
    out.append("). No decision.\n");
    return false;
  }
  if (d.status != agent_status::ok) {
    // A loop limit stopped it: what it said so far, marked as such.
    out.append("Note: this decision is partial (").append(d.reason()).append(").\n");
  } else if (const char* mark = answer_mark(d.stop); *mark) {
    // Say so, so the merge does not take a cut or filtered answer for a whole one.
    out.append("Note: this decision is ").append(mark);
    out.append(d.stop == stop_reason::length ? " (the model hit its output limit).\n"
                                             : " (the provider's content filter intervened).\n");
  }
  out.append("Decision: ").append(cut(d.answer, max_answer_chars)).append("\n");
  return true;
}

// The prompt over `items` (decisions or reports). Measured first, each decision written into
// a scratch string, then written into a body of exactly that size: grown by doubling, a prompt
// of thousands of decisions was briefly held three times over.
template <typename Items>
std::vector<chat_message> merge_prompt(std::string_view question, const Items& items,
                                       std::size_t max_answer_chars) {
  std::string body;
  body.append("Question: ").append(question).append("\n\nDecisions of the agents:\n");
  std::size_t size = body.size();
  std::size_t missing = 0;
  std::string piece;
  for (std::size_t i = 0; i < items.size(); ++i) {
    piece.clear();
    if (!append_decision(piece, i + 1, view(items[i]), max_answer_chars)) ++missing;
    size += piece.size();
  }
  std::string end = "\nWrite one unified answer to the question from these decisions.";
  if (missing > 0) {
    end += " " + std::to_string(missing) + " of " + std::to_string(items.size()) +
           " parts have no decision: say plainly which parts are missing.";
  }
  body.reserve(size + end.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    append_decision(body, i + 1, view(items[i]), max_answer_chars);
  }
  body += end;
  // Not a braced list: its elements would be copied into the vector, the body with them.
  std::vector<chat_message> prompt;
  prompt.reserve(2);
  prompt.emplace_back(
      role::system,
      "You merge the decisions of independent expert agents into one clear, "
      "consistent answer. Resolve disagreements explicitly; do not invent findings.");
  prompt.emplace_back(role::user, std::move(body));
  return prompt;
}

}  // namespace

std::vector<decision> decisions_of(const std::vector<agent_report>& agents) {
  std::vector<decision> out;
  out.reserve(agents.size());
  for (const auto& a : agents) {
    const decision_view v = view(a);
    out.push_back({std::string(v.sub_question), v.status, std::string(v.answer),
                   std::string(v.reason()), v.stop});
  }
  return out;
}

std::vector<chat_message> synthesis_prompt(std::string_view question,
                                           const std::vector<decision>& decisions,
                                           std::size_t max_answer_chars) {
  return merge_prompt(question, decisions, max_answer_chars);
}

std::vector<chat_message> synthesis_prompt(std::string_view question,
                                           const std::vector<agent_report>& agents,
                                           std::size_t max_answer_chars) {
  return merge_prompt(question, agents, max_answer_chars);
}

std::string fallback_answer(const std::vector<decision>& decisions, std::string_view why) {
  std::string out = "Synthesis failed (" + std::string(why) + "). The agents' decisions:\n";
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    const auto& d = decisions[i];
    out += "\n" + std::to_string(i + 1) + ". " + d.sub_question + "\n   ";
    out += !d.answer.empty() ? d.answer : "(no decision: " + d.reason + ")";
    out += "\n";
  }
  return out;
}

}  // namespace conclave
