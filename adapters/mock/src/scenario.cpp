#include <conclave/engine/text.hpp>
#include <conclave/mock/scenario.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

namespace json = boost::json;

namespace conclave::mock {
namespace {

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// A message's text: a view of its one text part (nearly every message), else its parts joined
// in `joined`. The mock reads each message's text several times per reply; text() copied it.
std::string_view text_of(const chat_message& m, std::string& joined) {
  const text_part* only = nullptr;
  for (const auto& p : m.parts) {
    if (const auto* t = std::get_if<text_part>(&p)) {
      if (only) {
        joined = m.text();
        return joined;
      }
      only = t;
    }
  }
  return only ? std::string_view(only->text) : std::string_view();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

constexpr std::array<std::string_view, 8> aspects = {
    "costs",
    "risks",
    "evidence",
    "who is affected",
    "alternatives",
    "measuring success",
    "lessons from history",
    "where experts disagree",
};

constexpr std::array<std::string_view, 32> vocabulary = {
    "evidence", "suggests", "careful", "trade-offs", "matter",  "most",     "when",    "costs",
    "rise",     "benefits", "depend",  "on",         "context", "and",      "timing",  "several",
    "studies",  "agree",    "that",    "a",          "phased",  "approach", "reduces", "risk",
    "while",    "keeping",  "options", "open",       "for",     "later",    "review",  "overall"};

// The short answers of vote mode: agents on one question pick the same one.
constexpr std::array<std::string_view, 4> short_answers = {
    "yes, in stages", "no, not yet", "only with safeguards", "it depends on cost"};

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Whether a system or user message says `phrase`.
bool asks(const incoming_request& req, std::string_view phrase) {
  std::string joined;
  return std::any_of(req.messages.begin(), req.messages.end(), [&](const chat_message& m) {
    return (m.who == role::system || m.who == role::user) &&
           text_of(m, joined).find(phrase) != std::string_view::npos;
  });
}

// The text of the last user message ("" when there is none).
std::string last_user(const incoming_request& req) {
  for (auto it = req.messages.rbegin(); it != req.messages.rend(); ++it) {
    if (it->who == role::user) return it->text();
  }
  return {};
}

// The subject without its closing '?' or '.', at most 120 bytes: what sub-questions are about.
std::string topic_of(const incoming_request& req) {
  std::string topic = subject_of(req);
  while (!topic.empty() && (topic.back() == '?' || topic.back() == '.')) topic.pop_back();
  topic.resize(text::utf8_prefix(topic, 120).size());
  return topic;
}

std::string sub_question(const std::string& topic, std::size_t i) {
  std::string q = topic + "? (focus: " + std::string(aspects[i % aspects.size()]);
  if (i >= aspects.size()) q += ", part " + std::to_string(i + 1);
  return q + ")";
}

// Vote mode: the larger question (a system message's "The larger question: ..." line, else the
// subject) picks the short answer, so agents on one question agree. With "mock-split-vote" in
// it each agent's own sub-question picks instead: its focus (the k-th aspect gets answer k mod
// 4, so the first four agents all differ), else a hash of it.
std::string_view vote_answer(const incoming_request& req) {
  std::string larger;
  for (const auto& m : req.messages) {
    if (m.who != role::system) continue;
    const std::string said = m.text();
    if (const auto at = said.find("The larger question:"); at != std::string::npos) {
      const std::string_view rest = std::string_view(said).substr(at + 20);
      larger = std::string(trim(rest.substr(0, rest.find('\n'))));
      break;
    }
  }
  if (larger.empty()) larger = subject_of(req);
  if (larger.find("mock-split-vote") == std::string::npos) {
    return short_answers[fnv1a(larger) % short_answers.size()];
  }
  const std::string own = subject_of(req);
  for (std::size_t k = 0; k < aspects.size(); ++k) {
    if (own.find("(focus: " + std::string(aspects[k])) != std::string::npos) {
      return short_answers[k % short_answers.size()];
    }
  }
  return short_answers[fnv1a(own) % short_answers.size()];
}

// Universal self-consistency: the answers are headed "[Answer 1]", "[Answer 2]", ...; the pick
// is (hash of the question % their count) + 1.
std::string select_reply(const incoming_request& req) {
  const std::string said = last_user(req);
  std::size_t count = 0;
  for (std::size_t at = 0; count < static_cast<std::size_t>(max_subquestions); ++count) {
    at = said.find("[Answer " + std::to_string(count + 1) + "]", at);
    if (at == std::string::npos) break;
  }
  const std::size_t pick = fnv1a(subject_of(req)) % std::max<std::size_t>(1, count) + 1;
  return "Answer " + std::to_string(pick) +
         " shares the most claims with the others.\nSELECTED: " + std::to_string(pick);
}

// A judge: the graded answer sits between "<answer>" and the last "</answer>".
std::string judge_reply(const incoming_request& req) {
  const std::string said = last_user(req);
  const auto open = said.find("<answer>");
  const auto close = said.rfind("</answer>");
  const std::string_view asked = std::string_view(said).substr(0, open);
  const std::string_view answer =
      open == std::string::npos
          ? std::string_view{}
          : std::string_view(said).substr(open, close == std::string::npos || close < open
                                                    ? std::string_view::npos
                                                    : close - open);
  // A revised answer passes, so a verify loop ends after one revision.
  const bool revised = answer.find("Revised:") != std::string_view::npos;
  json::object out;
  if (!revised && asked.find("mock-judge-fails") != std::string_view::npos) {
    out["verdict"] = "fail";
    out["critique"] = "The answer lacks concrete evidence; cite one.";
  } else if (!revised && answer.find("mock-bad") != std::string_view::npos) {
    out["verdict"] = "fail";
    out["critique"] = "The answer contains a marked error (mock-bad); correct it.";
  } else {
    out["verdict"] = "pass";
    out["critique"] = "On the point and supported.";
  }
  return json::serialize(out);
}

// The dynamic decomposition: N chosen from the question (2 to compare, else 1 for at most six
// words, else 3), or a diamond of four with dependencies for "mock-diamond".
std::string plan_reply(const incoming_request& req) {
  const std::string question = subject_of(req);
  const std::string low = lowered(question);
  const std::string topic = topic_of(req);
  std::vector<std::vector<std::string_view>> deps;
  if (low.find("mock-diamond") != std::string::npos) {
    deps = {{}, {"s1"}, {"s1"}, {"s2", "s3"}};
  } else {
    std::size_t words = 0;
    bool in_word = false;
    for (char c : question) {
      const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
      words += !space && !in_word;
      in_word = !space;
    }
    const bool compares = low.find(" vs ") != std::string::npos ||
                          low.find(" vs. ") != std::string::npos ||
                          low.find("compare") != std::string::npos;
    deps.resize(compares ? 2 : words <= 6 ? 1 : 3);
  }
  json::array subtasks;
  for (std::size_t i = 0; i < deps.size(); ++i) {
    json::array after;
    for (auto d : deps[i]) after.emplace_back(d);
    subtasks.push_back(json::object{{"id", "s" + std::to_string(i + 1)},
                                    {"prompt", sub_question(topic, i)},
                                    {"depends_on", std::move(after)}});
  }
  return json::serialize(json::object{{"subtasks", std::move(subtasks)}});
}

}  // namespace

fault fault_from_model(std::string_view model) {
  if (model == "mock-429") return fault::rate_limited;
  if (model == "mock-500") return fault::server_error;
  if (model == "mock-503") return fault::unavailable;
  if (model == "mock-hang") return fault::hang;
  if (model == "mock-reset") return fault::reset;
  if (model == "mock-malformed") return fault::malformed;
  if (model == "mock-truncated") return fault::truncated;
  if (model == "mock-drip") return fault::drip;
  if (model == "mock-error-event") return fault::error_event;
  if (model == "mock-length") return fault::length;
  if (model == "mock-filtered") return fault::filtered;
  if (model == "mock-empty") return fault::empty;
  if (model == "mock-echo-401") return fault::echo_401;
  if (model == "mock-echo-text") return fault::echo_text;
  if (model == "mock-echo-200-error") return fault::echo_200_error;
  if (model == "mock-echo-malformed") return fault::echo_malformed;
  if (model == "mock-echo-stream") return fault::echo_stream;
  if (model == "mock-html") return fault::html;
  if (model == "mock-early-hints") return fault::early_hints;
  if (model == "mock-529") return fault::overloaded;
  if (model == "mock-pause") return fault::paused;
  return fault::none;
}

const char* to_string(fault f) noexcept {
  switch (f) {
    case fault::none:
      return "none";
    case fault::rate_limited:
      return "429";
    case fault::server_error:
      return "500";
    case fault::unavailable:
      return "503";
    case fault::hang:
      return "hang";
    case fault::reset:
      return "reset";
    case fault::malformed:
      return "malformed";
    case fault::truncated:
      return "truncated";
    case fault::drip:
      return "drip";
    case fault::error_event:
      return "error-event";
    case fault::length:
      return "length";
    case fault::filtered:
      return "filtered";
    case fault::empty:
      return "empty";
    case fault::echo_401:
      return "echo-401";
    case fault::echo_text:
      return "echo-text";
    case fault::echo_200_error:
      return "echo-200-error";
    case fault::echo_malformed:
      return "echo-malformed";
    case fault::echo_stream:
      return "echo-stream";
    case fault::html:
      return "html";
    case fault::early_hints:
      return "early-hints";
    case fault::overloaded:
      return "529";
    case fault::paused:
      return "pause";
  }
  return "none";
}

std::optional<int> requested_subquestions(const incoming_request& req) {
  std::string joined;
  for (const auto& m : req.messages) {
    const std::string_view text = text_of(m, joined);
    const auto at = text.find("sub-questions");
    if (at == std::string_view::npos) continue;
    // Look back over up to three words for a number: "into 5 independent sub-questions".
    std::string_view before = text.substr(0, at);
    for (int word = 0; word < 3 && !before.empty(); ++word) {
      before = trim(before);
      const auto space = before.find_last_of(" \t\n");
      const std::string_view token =
          space == std::string_view::npos ? before : before.substr(space + 1);
      // Any length of digits; the value is pinned at the cap as it is read, so it cannot
      // overflow.
      int n = 0;
      bool digits = !token.empty();
      for (char c : token) {
        if (!std::isdigit(static_cast<unsigned char>(c))) {
          digits = false;
          break;
        }
        n = std::min(max_subquestions + 1, n * 10 + (c - '0'));
      }
      if (digits && n > 0) return std::min(n, max_subquestions);
      if (space == std::string_view::npos) break;
      before = before.substr(0, space);
    }
  }
  return std::nullopt;
}

std::string subject_of(const incoming_request& req) {
  for (auto it = req.messages.rbegin(); it != req.messages.rend(); ++it) {
    if (it->who != role::user) continue;
    std::string joined;
    std::string_view text = text_of(*it, joined);
    if (const auto q = text.find("Question:"); q != std::string_view::npos) {
      text = text.substr(q + 9);
    }
    text = trim(text);
    if (const auto nl = text.find('\n'); nl != std::string_view::npos) text = text.substr(0, nl);
    return std::string(trim(text));
  }
  return "the question";
}

namespace {

// `words` deterministic words about the subject (a merge request, one listing "Decision:"
// lines, says so).
std::string words_about(const incoming_request& req, int words) {
  std::string subject = subject_of(req);
  std::uint64_t h = fnv1a(subject);
  std::string joined;
  for (const auto& m : req.messages) {
    h ^= fnv1a(text_of(m, joined)) + 0x9e3779b97f4a7c15ull + (h << 6);
  }
  if (subject.size() > 60) subject = std::string(text::utf8_prefix(subject, 57)) + "...";
  std::size_t decisions = 0;
  for (const auto& m : req.messages) {
    const std::string_view said = text_of(m, joined);
    for (auto at = said.find("Decision: "); at != std::string_view::npos;
         at = said.find("Decision: ", at + 1)) {
      ++decisions;
    }
  }
  std::string out;
  out.reserve(subject.size() + 48 + static_cast<std::size_t>(std::max(0, words)) * 16);
  if (decisions > 0) {
    out += "Merged from ";
    out += std::to_string(decisions);
    out += " decisions on \"";
  } else {
    out += "On \"";
  }
  out += subject;
  out += "\":";
  for (int i = 0; i < words; ++i) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 29;
    out += ' ';
    out += vocabulary[h % vocabulary.size()];
  }
  out += '.';
  return out;
}

}  // namespace

std::string reply_text(const incoming_request& req, int words) {
  // The combine and plan prompts first: each names its task in words a question would not use,
  // and each may quote a question that mentions sub-questions.
  if (trim(last_user(req)).starts_with(revise_phrase)) {
    std::string out = "Revised: " + words_about(req, words);
    if (asks(req, vote_phrase)) out += "\nANSWER: " + std::string(vote_answer(req));
    return out;
  }
  if (asks(req, plan_phrase)) return plan_reply(req);
  if (asks(req, judge_phrase)) return judge_reply(req);
  if (asks(req, select_phrase)) return select_reply(req);
  if (auto n = requested_subquestions(req)) {
    const std::string topic = topic_of(req);
    json::array items;
    for (int i = 0; i < *n; ++i)
      items.emplace_back(sub_question(topic, static_cast<std::size_t>(i)));
    return json::serialize(items);
  }
  std::string out = words_about(req, words);
  if (asks(req, vote_phrase)) out += "\nANSWER: " + std::string(vote_answer(req));
  return out;
}

usage count_usage(const incoming_request& req, std::string_view reply) {
  usage u;
  for (const auto& m : req.messages) u.prompt_tokens += 3 + (m.size() + 3) / 4;
  u.completion_tokens = static_cast<std::int64_t>((reply.size() + 3) / 4);
  return u;
}

}  // namespace conclave::mock
