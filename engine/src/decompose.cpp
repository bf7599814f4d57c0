#include <conclave/engine/decompose.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace json = boost::json;

namespace conclave {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Lower case, single spaces, no trailing punctuation: "What  is X?" and "what is x" match.
std::string dedupe_key(std::string_view s) {
  std::string key;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !key.empty();
      continue;
    }
    if (space) key += ' ';
    space = false;
    key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  while (!key.empty() &&
         (key.back() == '?' || key.back() == '.' || key.back() == '!' || key.back() == ' ')) {
    key.pop_back();
  }
  return key;
}

// The text inside the first ```fence``` (language tag dropped), or the whole reply.
std::string_view unfence(std::string_view reply) {
  const auto open = reply.find("```");
  if (open == std::string_view::npos) return reply;
  auto body_start = reply.find('\n', open);
  if (body_start == std::string_view::npos) return reply;
  ++body_start;
  const auto close = reply.find("```", body_start);
  return reply.substr(
      body_start, close == std::string_view::npos ? std::string_view::npos : close - body_start);
}

std::vector<std::string> from_json_array(std::string_view text) {
  std::vector<std::string> out;
  const auto first = text.find('[');
  const auto last = text.rfind(']');
  if (first == std::string_view::npos || last == std::string_view::npos || last < first) return out;
  boost::system::error_code ec;
  json::value v = json::parse(text.substr(first, last - first + 1), ec);
  if (ec || !v.is_array()) return out;
  for (const auto& item : v.get_array()) {
    if (item.is_string()) {
      out.emplace_back(item.get_string());
    } else if (const auto* o = item.if_object()) {
      for (const char* key : {"question", "sub_question", "text"}) {
        if (const auto* q = o->if_contains(key); q && q->is_string()) {
          out.emplace_back(q->get_string());
          break;
        }
      }
    }
  }
  return out;
}

// "1. ...", "2) ...", "- ...", "* ...", "• ..." lines.
std::vector<std::string> from_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    std::size_t i = 0;
    while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
    if (i > 0 && i < line.size() && (line[i] == '.' || line[i] == ')')) {
      out.push_back(trim(std::string_view(line).substr(i + 1)));
    } else if (line.starts_with("- ") || line.starts_with("* ")) {
      out.push_back(trim(std::string_view(line).substr(2)));
    } else if (line.starts_with("\xE2\x80\xA2")) {  // U+2022 bullet
      out.push_back(trim(std::string_view(line).substr(3)));
    }
  }
  return out;
}

}  // namespace

std::vector<chat_message> decomposition_prompt(std::string_view question, int n) {
  return {
      {role::system,
       "You split a large question into independent sub-questions that separate experts can "
       "answer in parallel, without seeing each other's work. Each sub-question must stand on "
       "its own."},
      {role::user, "Split the question below into " + std::to_string(n) +
                       " independent sub-questions. Reply with a JSON array of " +
                       std::to_string(n) +
                       " strings and nothing else.\nQuestion: " + std::string(question)},
  };
}

std::vector<std::string> parse_subquestions(std::string_view reply, int max) {
  const std::string_view body = unfence(reply);
  std::vector<std::string> candidates = from_json_array(body);
  if (candidates.empty()) candidates = from_json_array(reply);
  if (candidates.empty()) candidates = from_list(body);

  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto& c : candidates) {
    std::string q = trim(c);
    if (q.empty()) continue;
    if (!seen.insert(dedupe_key(q)).second) continue;
    out.push_back(std::move(q));
    if (static_cast<int>(out.size()) >= std::max(1, max)) break;
  }
  return out;
}

}  // namespace conclave
