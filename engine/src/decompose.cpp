#include <conclave/engine/decompose.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <map>
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

// One sub-question as the reply gave it, before ids and dependencies are resolved.
struct raw_subtask {
  std::string id;
  std::string prompt;
  std::string role;
  std::vector<std::string> depends_on;
};

std::string string_field(const json::object& o, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (const auto* v = o.if_contains(key); v && v->is_string()) return trim(v->get_string());
  }
  return {};
}

// The items of the first {"subtasks": [...]} object in `text`; empty when there is none.
std::vector<raw_subtask> from_json_object(std::string_view text) {
  std::vector<raw_subtask> out;
  const auto first = text.find('{');
  const auto last = text.rfind('}');
  if (first == std::string_view::npos || last == std::string_view::npos || last < first) return out;
  boost::system::error_code ec;
  json::value v = json::parse(text.substr(first, last - first + 1), ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* items = o ? o->if_contains("subtasks") : nullptr;
  if (!items || !items->is_array()) return out;
  for (const auto& item : items->get_array()) {
    raw_subtask t;
    if (item.is_string()) {
      t.prompt = trim(item.get_string());
    } else if (const auto* fields = item.if_object()) {
      t.id = string_field(*fields, {"id"});
      t.prompt = string_field(*fields, {"prompt", "question", "sub_question", "text"});
      t.role = string_field(*fields, {"role"});
      if (const auto* deps = fields->if_contains("depends_on"); deps && deps->is_array()) {
        for (const auto& d : deps->get_array()) {
          if (d.is_string()) t.depends_on.push_back(trim(d.get_string()));
        }
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

// Ids, deduplication, the cap and dependencies over the raw items, as parse_decomposition says.
plan to_plan(std::vector<raw_subtask> items, int max_n) {
  const std::size_t cap = static_cast<std::size_t>(std::max(1, max_n));
  std::vector<raw_subtask> kept;
  std::map<std::string, std::size_t> by_key;     // dedupe key -> index in kept
  std::map<std::string, std::size_t> by_raw_id;  // id as the reply wrote it -> index in kept
  for (auto& t : items) {
    if (t.prompt.empty()) continue;
    const auto [at, added] = by_key.emplace(dedupe_key(t.prompt), kept.size());
    // Dependencies on a repeated sub-question go to the one kept, even past the cap.
    if (!t.id.empty()) by_raw_id.emplace(t.id, at->second);
    if (added) kept.push_back(std::move(t));
  }
  plan out;
  std::set<std::string> used;
  for (std::size_t i = 0; i < kept.size() && i < cap; ++i) {
    subtask s;
    s.id = kept[i].id;
    if (!is_valid_subtask_id(s.id) || used.contains(s.id)) {
      // s<position>, or the next free one: never an id another item wrote.
      std::size_t k = i + 1;
      while (used.contains("s" + std::to_string(k)) ||
             by_raw_id.contains("s" + std::to_string(k))) {
        ++k;
      }
      s.id = "s" + std::to_string(k);
    }
    used.insert(s.id);
    by_raw_id[s.id] = i;  // the id it now has names it, whoever wrote it before
    s.prompt = std::move(kept[i].prompt);
    s.role = std::move(kept[i].role);
    out.subtasks.push_back(std::move(s));
  }
  std::vector<std::vector<std::size_t>> deps(out.subtasks.size());
  for (std::size_t i = 0; i < deps.size(); ++i) {
    for (const auto& d : kept[i].depends_on) {
      const auto it = by_raw_id.find(d);
      if (it == by_raw_id.end() || it->second >= deps.size()) continue;  // unknown or capped
      if (std::find(deps[i].begin(), deps[i].end(), it->second) != deps[i].end()) continue;
      deps[i].push_back(it->second);
    }
  }
  for (std::size_t i = 0; i < deps.size(); ++i) {
    for (std::size_t j : deps[i]) out.subtasks[i].depends_on.push_back(out.subtasks[j].id);
  }
  // A broken graph (a cycle, a subtask depending on itself): run them all independently.
  if (validate(out, std::max(cap, out.subtasks.size()))) {
    for (auto& s : out.subtasks) s.depends_on.clear();
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

std::vector<chat_message> plan_prompt(std::string_view question, int n, int max_n) {
  max_n = std::max(1, max_n);
  // The mock reads a fixed count from "into <n> ... sub-questions" and a free choice from
  // "Choose how many sub-questions": no other number may sit just before "sub-questions".
  std::string ask =
      n > 0 ? "Split the question below into " + std::to_string(n) +
                  " independent sub-questions. Give exactly " + std::to_string(n) + " subtasks."
            : "Choose how many sub-questions the question below needs: 1 for a simple fact, 2-4 "
              "for a comparison, up to 10 for broad research, 3 when unsure. Never more than " +
                  std::to_string(max_n) + ".";
  return {
      {role::system,
       "You split a large question into sub-questions that separate experts answer, each "
       "without seeing the others' work. Each sub-question must stand on its own."},
      {role::user,
       ask +
           "\nReply with a JSON object and nothing else:\n"
           R"({"subtasks": [{"id": "s1", "prompt": "...", "depends_on": [], "role": "..."}]})"
           "\nEach prompt is a complete question. Leave depends_on empty unless one "
           "sub-question truly needs another's answer; then list the ids it needs. role names "
           "the expert who should answer (for example \"a tax lawyer\"). A plain JSON array of "
           "strings is also accepted.\nQuestion: " +
           std::string(question)},
  };
}

plan parse_decomposition(std::string_view reply, int max_n) {
  const std::string_view body = unfence(reply);
  std::vector<raw_subtask> items = from_json_object(body);
  if (items.empty()) items = from_json_object(reply);
  plan out = to_plan(std::move(items), max_n);
  if (!out.subtasks.empty()) return out;
  std::vector<raw_subtask> listed;
  for (auto& q : parse_subquestions(reply, max_n)) listed.push_back({{}, std::move(q), {}, {}});
  return to_plan(std::move(listed), max_n);
}

}  // namespace conclave
