// Decomposition: the prompt that asks a model to split a question into N sub-questions, and
// a forgiving parser for its reply. Pure functions.
#pragma once

#include <conclave/engine/chat.hpp>

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

}  // namespace conclave
