// Synthesis input: each agent's sub-question, status and final answer (never its dialogue),
// each cut to a bound and marked when cut. Pure functions.
#pragma once

#include <conclave/engine/chat.hpp>
#include <conclave/engine/report.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace conclave {

/// What synthesis knows of one agent.
struct decision {
  std::string sub_question;
  agent_status status = agent_status::ok;
  std::string answer;  ///< empty unless ok or a partial answer (max_turns, stalled)
  std::string reason;  ///< why there is no answer; for a partial one, what stopped it
  stop_reason stop = stop_reason::unknown;  ///< length / content_filter mark the answer
};

std::vector<decision> decisions_of(const std::vector<agent_report>& agents);

/// The merge prompt. Each answer is cut to `max_answer_chars` (at a UTF-8 boundary) and
/// marked "[cut: N more characters]"; missing decisions are named so the answer can say so.
std::vector<chat_message> synthesis_prompt(std::string_view question,
                                           const std::vector<decision>& decisions,
                                           std::size_t max_answer_chars);
/// The same prompt straight from the agents' reports (their decisions as decisions_of makes
/// them), copying none of their texts but into the prompt itself.
std::vector<chat_message> synthesis_prompt(std::string_view question,
                                           const std::vector<agent_report>& agents,
                                           std::size_t max_answer_chars);

/// The degraded answer when the synthesis call itself failed: the decisions, listed.
std::string fallback_answer(const std::vector<decision>& decisions, std::string_view why);

}  // namespace conclave
