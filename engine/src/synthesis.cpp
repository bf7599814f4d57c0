#include <conclave/engine/synthesis.hpp>
#include <conclave/engine/text.hpp>

#include <algorithm>

namespace conclave {
namespace {

std::string cut(const std::string& s, std::size_t max) { return text::cut_marked(s, max); }

}  // namespace

std::vector<decision> decisions_of(const std::vector<agent_report>& agents) {
  std::vector<decision> out;
  out.reserve(agents.size());
  for (const auto& a : agents) {
    decision d{a.sub_question, a.status, {}, {}, a.stop};
    if (has_answer(a.status) && !a.answer.empty()) {
      d.answer = a.answer;
      if (a.status != agent_status::ok) d.reason = a.diag.message;  // what cut it short
    } else {
      d.reason = a.error ? a.error.message() : std::string(to_string(a.status));
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<chat_message> synthesis_prompt(std::string_view question,
                                           const std::vector<decision>& decisions,
                                           std::size_t max_answer_chars) {
  // Sized first: grown by doubling, a prompt of thousands of decisions was briefly held
  // about three times over.
  std::size_t size = question.size() + 256;
  for (const auto& d : decisions) {
    // The lines around each decision (40), a cut's mark (48), a note or a status line (128).
    size += 40 + d.sub_question.size() + d.reason.size() +
            std::min(d.answer.size(), max_answer_chars) +
            (d.answer.size() > max_answer_chars ? 48 : 0) +
            (d.status != agent_status::ok || *answer_mark(d.stop) ? 128 : 0);
  }
  std::string body;
  body.reserve(size);
  body.append("Question: ").append(question).append("\n\nDecisions of the agents:\n");
  std::size_t missing = 0;
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    const auto& d = decisions[i];
    body += "\n[" + std::to_string(i + 1) + "] Sub-question: " + d.sub_question + "\n";
    if (!d.answer.empty()) {
      if (d.status != agent_status::ok) {
        // A loop limit stopped it: what it said so far, marked as such.
        body += "Note: this decision is partial (" + d.reason + ").\n";
      } else if (const char* mark = answer_mark(d.stop); *mark) {
        // Say so, so the merge does not take a cut or filtered answer for a whole one.
        body += "Note: this decision is " + std::string(mark) +
                (d.stop == stop_reason::length ? " (the model hit its output limit).\n"
                                               : " (the provider's content filter intervened).\n");
      }
      body += "Decision: " + cut(d.answer, max_answer_chars) + "\n";
    } else {
      ++missing;
      body += "Status: " + std::string(to_string(d.status)) + " (" + d.reason + "). No decision.\n";
    }
  }
  body += "\nWrite one unified answer to the question from these decisions.";
  if (missing > 0) {
    body += " " + std::to_string(missing) + " of " + std::to_string(decisions.size()) +
            " parts have no decision: say plainly which parts are missing.";
  }
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
