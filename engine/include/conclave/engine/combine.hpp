// The ways to combine agents' decisions besides synthesis, as pure functions: vote (count short
// answers), select (universal self-consistency: one call picks the answer most consistent with
// the others) and verify (a judge grades each answer; a failed one is revised). Prompts and
// parsers only, no I/O; every text they copy in is cut to a bound.
#pragma once

#include <conclave/engine/chat.hpp>
#include <conclave/engine/synthesis.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave {

// ---- vote ----

/// Text added to each agent's system prompt in vote mode: asks it to end with one line
/// `ANSWER: <a few words>`. It contains `end with one line "ANSWER:`, the phrase the mock model
/// keys on (adapters/mock/README.md).
std::string_view vote_instruction() noexcept;

/// The most bytes of a short answer.
inline constexpr std::size_t max_short_answer = 200;

/// The short answer of a decision: the text after the last "ANSWER:" (any case, also "Final
/// answer:", "**Answer**:"), to the end of that line (the next non-empty line when that is
/// empty), every `**` and surrounding `*`, `_`, backticks and quotes stripped; failing a marker,
/// the last non-empty line when it is at most 80 characters; else nullopt. Cut to
/// max_short_answer bytes at a UTF-8 boundary.
std::optional<std::string> extract_short_answer(std::string_view decision_text);

/// Key for counting: ASCII lower case, white space collapsed to single spaces, trailing
/// `. ! ? ; :` and surrounding quotes removed ("  \"Forty-Two.\" " -> "forty-two").
std::string normalize_answer(std::string_view short_answer);

// vote_option (one distinct answer and who gave it) lives in report.hpp: the report keeps them.

/// The count of the agents' short answers.
struct vote_tally {
  std::vector<vote_option> options;   ///< most votes first; ties in order of first appearance
  std::size_t voters = 0;             ///< decisions with an answer that had a short answer
  std::size_t abstained = 0;          ///< decisions with an answer but no short answer
  bool tie = false;                   ///< the top count is shared by two or more options
  std::optional<std::size_t> winner;  ///< index into options: the plurality leader, if no tie
  /// One line for people: `3 of 4 agents answered "42"`, `tie between "a" (2) and "b" (2)`,
  /// `no agent gave a short answer` (at most 5 tied options named).
  std::string note;
};

/// Counts the decisions that have an answer (status ok, max_turns or stalled with text);
/// failed ones are neither voters nor abstentions.
vote_tally tally_votes(const std::vector<decision>& decisions);

// ---- select (universal self-consistency) ----

/// One call shown every answer and asked to pick the one "most consistent with the others",
/// replying with a last line `SELECTED: <number>`. Decisions without an answer are left out:
/// number k (from 1) is the k-th decision that has one, so pass only answered decisions to
/// keep numbers and indices equal. Each answer is cut to `max_answer_chars` at a UTF-8
/// boundary and marked "[cut: N more characters]"; the mock counts the `[Answer k]` headers.
std::vector<chat_message> select_prompt(std::string_view question,
                                        const std::vector<decision>& decisions,
                                        std::size_t max_answer_chars);

/// The answer picked, 0-based: the number after the last readable `SELECTED:` (any case; also
/// `SELECTED: Answer 2`, `SELECTED: [2]`), or a reply that is only a number; nullopt when there
/// is none or it is outside [1, count].
std::optional<std::size_t> parse_selection(std::string_view reply, std::size_t count);

// ---- verify ----

enum class verdict { pass, needs_improvement, fail };

/// "pass", "needs_improvement", "fail".
const char* to_string(verdict v) noexcept;

/// The most bytes of a judge's critique kept.
inline constexpr std::size_t max_critique = 2000;

/// A judge's grade of one answer.
struct judgment {
  verdict grade = verdict::pass;
  std::string critique;  ///< what to fix; at most max_critique bytes
};

/// A judge's prompt for one decision: the larger question, the sub-question and the answer
/// (cut to `max_answer_chars`, between `<answer>` and `</answer>`); asks for JSON
/// {"verdict": "pass" | "needs_improvement" | "fail", "critique": "..."}. The user message
/// begins with "Grade this answer" (the mock keys on it).
std::vector<chat_message> judge_prompt(std::string_view question, const decision& d,
                                       std::size_t max_answer_chars);

/// Lenient: a JSON object with "verdict" (and "critique"), fenced or amid prose; else lines
/// `VERDICT: fail` and `CRITIQUE: ...` (any case, markdown around the label allowed). Verdicts
/// are read loosely ("PASS", "needs improvement", "needs-improvement"). nullopt when no verdict
/// can be read. Never throws.
std::optional<judgment> parse_judgment(std::string_view reply);

/// The revision request for an agent whose answer failed: its sub-question (as "Question:"),
/// the larger question, its previous answer (cut to `max_answer_chars`), the judge's critique
/// (cut to max_critique) and the other agents' decisions (answers only, never dialogues; each
/// cut to `max_answer_chars`, all of them together to `max_answer_chars * 4`, the rest counted
/// as left out). The user message begins with "Revise your answer" (the mock keys on it).
std::vector<chat_message> revise_prompt(std::string_view question, std::string_view sub_question,
                                        std::string_view previous_answer, std::string_view critique,
                                        const std::vector<decision>& others,
                                        std::size_t max_answer_chars);

}  // namespace conclave
