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
  for (const auto& m : req.messages) {
    const std::string words = m.text();
    const std::string_view text = words;
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
    const std::string words = it->text();
    std::string_view text = words;
    if (const auto q = text.find("Question:"); q != std::string_view::npos) {
      text = text.substr(q + 9);
    }
    text = trim(text);
    if (const auto nl = text.find('\n'); nl != std::string_view::npos) text = text.substr(0, nl);
    return std::string(trim(text));
  }
  return "the question";
}

std::string reply_text(const incoming_request& req, int words) {
  std::string subject = subject_of(req);
  if (auto n = requested_subquestions(req)) {
    std::string topic = subject;
    while (!topic.empty() && (topic.back() == '?' || topic.back() == '.')) topic.pop_back();
    topic.resize(text::utf8_prefix(topic, 120).size());
    json::array items;
    for (int i = 0; i < *n; ++i) {
      std::string q = topic + "? (focus: " + std::string(aspects[i % aspects.size()]);
      if (i >= static_cast<int>(aspects.size())) q += ", part " + std::to_string(i + 1);
      items.emplace_back(q + ")");
    }
    return json::serialize(items);
  }
  std::uint64_t h = fnv1a(subject);
  for (const auto& m : req.messages) h ^= fnv1a(m.text()) + 0x9e3779b97f4a7c15ull + (h << 6);
  if (subject.size() > 60) subject = std::string(text::utf8_prefix(subject, 57)) + "...";
  // A merge request (conclave's synthesis prompt lists "Decision:" lines) says so.
  std::size_t decisions = 0;
  for (const auto& m : req.messages) {
    const std::string said = m.text();
    for (auto at = said.find("Decision: "); at != std::string::npos;
         at = said.find("Decision: ", at + 1)) {
      ++decisions;
    }
  }
  std::string out = decisions > 0 ? "Merged from " + std::to_string(decisions) +
                                        " decisions on \"" + subject + "\":"
                                  : "On \"" + subject + "\":";
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

usage count_usage(const incoming_request& req, std::string_view reply) {
  usage u;
  for (const auto& m : req.messages) u.prompt_tokens += 3 + (m.size() + 3) / 4;
  u.completion_tokens = static_cast<std::int64_t>((reply.size() + 3) / 4);
  return u;
}

}  // namespace conclave::mock
