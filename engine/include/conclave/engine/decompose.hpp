// Decomposition: the prompts that ask a model to split a question into sub-questions (a fixed
// count, or as many as it judges right, as a plan with dependencies), and forgiving parsers for
// its reply. Pure functions.
#pragma once

#include <conclave/engine/chat.hpp>
#include <conclave/engine/plan.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace conclave {

/// The messages asking for at most `n` independent sub-questions as a JSON array of strings.
std::vector<chat_message> decomposition_prompt(std::string_view question, int n);

/// Sub-questions from a model's reply: a JSON array of strings (or of objects with a
/// "question" field), also inside a ```fenced``` block or with prose around it; failing that,
/// a numbered or bulleted list. Trims, drops empties and duplicates (ignoring case and
/// spacing), keeps at most `max`. Empty when nothing usable was found.
std::vector<std::string> parse_subquestions(std::string_view reply, int max);

/// The messages asking for a plan: a JSON object {"subtasks": [{"id": "s1", "prompt": "...",
/// "depends_on": [], "role": "..."}]}, with depends_on only where one sub-question truly needs
/// another's answer (a plain JSON array of strings is accepted too). `n` > 0: exactly `n`
/// sub-questions ("Split the question below into <n> independent sub-questions."). `n` <= 0:
/// the model chooses how many, from 1 to `max_n` ("Choose how many sub-questions ...": 1 for a
/// simple fact, 2-4 for a comparison, up to 10 for broad research, 3 when unsure).
std::vector<chat_message> plan_prompt(std::string_view question, int n, int max_n);

/// A decomposer's reply as a plan (question empty, every other plan field at its default):
/// a JSON object with "subtasks" (fenced or not, prose around it allowed; items are objects
/// with "prompt" or strings), else a list as parse_subquestions() reads it (ids s1..sN, no
/// dependencies). Missing, bad or repeated ids become s<position> (or the next free s<k>). Prompts
/// are trimmed and deduplicated as parse_subquestions() does (a dependency on a dropped duplicate
/// goes to the one kept); at most `max_n` (at least 1) are kept. Dependencies on unknown or
/// dropped ids are removed; if the graph still has a cycle (or a self-dependency), every
/// dependency is removed. The result passes validate(), except that it is empty when nothing
/// usable was found. Never throws on any input (short of running out of memory).
plan parse_decomposition(std::string_view reply, int max_n);

}  // namespace conclave
