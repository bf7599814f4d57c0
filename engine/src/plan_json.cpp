// The plan file: a strict reader that says where a file is wrong, and its writer.
#include <conclave/engine/plan.hpp>
#include <conclave/engine/text.hpp>

#include <boost/json/object.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <climits>

namespace json = boost::json;

namespace conclave {
namespace {

// A key as an error shows it: one line, at most 64 bytes of it.
std::string quoted(std::string_view key) {
  return "\"" + text::for_terminal(text::quote(key, 64), false) + "\"";
}

// Reads values at a path ("subtasks[2].depends_on"); the first failure is kept in `error`.
struct reader {
  std::string error;

  bool fail(const std::string& where, std::string_view what) {
    error = where + ": " + std::string(what);
    return false;
  }

  bool read(const json::value& v, const std::string& where, std::string& out) {
    if (!v.is_string()) return fail(where, "expected a string");
    out = std::string(v.get_string());
    return true;
  }

  bool read(const json::value& v, const std::string& where, bool& out) {
    if (!v.is_bool()) return fail(where, "expected true or false");
    out = v.get_bool();
    return true;
  }

  bool read(const json::value& v, const std::string& where, int& out) {
    if (v.is_int64() && v.get_int64() >= INT_MIN && v.get_int64() <= INT_MAX) {
      out = static_cast<int>(v.get_int64());
      return true;
    }
    if (v.is_int64() || v.is_uint64()) return fail(where, "integer out of range");
    return fail(where, "expected an integer");
  }

  bool read(const json::value& v, const std::string& where, std::vector<std::string>& out) {
    const auto* a = v.if_array();
    if (!a) return fail(where, "expected an array of strings");
    out.clear();
    for (const auto& item : *a) {
      if (!item.is_string()) return fail(where, "expected an array of strings");
      out.emplace_back(item.get_string());
    }
    return true;
  }

  bool read_subtask(const json::value& v, const std::string& where, subtask& out) {
    const auto* o = v.if_object();
    if (!o) return fail(where, "expected an object");
    bool has_id = false, has_prompt = false;
    for (const auto& [key, value] : *o) {
      const std::string at = where + "." + std::string(key);
      bool ok = true;
      if (key == "id") {
        ok = read(value, at, out.id);
        has_id = true;
      } else if (key == "prompt") {
        ok = read(value, at, out.prompt);
        has_prompt = true;
      } else if (key == "role") {
        ok = read(value, at, out.role);
      } else if (key == "model") {
        ok = read(value, at, out.model);
      } else if (key == "tools") {
        ok = read(value, at, out.tools.emplace());
      } else if (key == "depends_on") {
        ok = read(value, at, out.depends_on);
      } else if (key == "exclusive") {
        ok = read(value, at, out.exclusive);
      } else if (key == "priority") {
        ok = read(value, at, out.priority);
      } else if (key == "optional") {
        ok = read(value, at, out.optional);
      } else {
        error = "unknown key " + quoted(key) + " in " + where;
        return false;
      }
      if (!ok) return false;
    }
    if (!has_id) return fail(where, "missing \"id\"");
    if (!has_prompt) return fail(where, "missing \"prompt\"");
    return true;
  }

  bool read_plan(const json::value& v, plan& out) {
    const auto* o = v.if_object();
    if (!o) {
      error = "the plan must be a JSON object";
      return false;
    }
    bool has_subtasks = false;
    for (const auto& [key, value] : *o) {
      const std::string at(key);
      bool ok = true;
      if (key == "question") {
        ok = read(value, at, out.question);
      } else if (key == "subtasks") {
        has_subtasks = true;
        const auto* a = value.if_array();
        if (!a) return fail(at, "expected an array of objects");
        out.subtasks.assign(a->size(), subtask{});
        for (std::size_t i = 0; i < a->size() && ok; ++i) {
          ok = read_subtask((*a)[i], "subtasks[" + std::to_string(i) + "]", out.subtasks[i]);
        }
      } else if (key == "combine") {
        std::string name;
        ok = read(value, at, name);
        const auto mode = combine_mode_from(name);
        if (ok && !mode) return fail(at, "expected \"synthesize\", \"vote\" or \"select\"");
        if (ok) out.combine = *mode;
      } else if (key == "verify") {
        ok = read(value, at, out.verify);
      } else if (key == "verify_rounds") {
        ok = read(value, at, out.verify_rounds);
      } else {
        error = "unknown key " + quoted(key) + " in the plan";
        return false;
      }
      if (!ok) return false;
    }
    if (!has_subtasks) {
      error = "missing \"subtasks\"";
      return false;
    }
    return true;
  }
};

json::array strings(const std::vector<std::string>& list) {
  json::array a;
  for (const auto& s : list) a.emplace_back(s);
  return a;
}

}  // namespace

plan_parse_result parse_plan(std::string_view text, std::size_t max_bytes) {
  if (text.size() > max_bytes) {
    return {std::nullopt, "the plan file is " + std::to_string(text.size()) +
                              " bytes; the limit is " + std::to_string(max_bytes)};
  }
  json::stream_parser parser;
  boost::system::error_code ec;
  const std::size_t read = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    return {std::nullopt, "malformed JSON at byte " + std::to_string(read) + ": " + ec.message()};
  }
  plan p;
  reader r;
  if (!r.read_plan(parser.release(), p)) return {std::nullopt, std::move(r.error)};
  return {std::move(p), {}};
}

json::object to_json(const plan& p) {
  json::array tasks;
  for (const auto& t : p.subtasks) {
    json::object o{{"id", t.id}, {"prompt", t.prompt}, {"depends_on", strings(t.depends_on)}};
    if (!t.exclusive.empty()) o["exclusive"] = strings(t.exclusive);
    if (!t.role.empty()) o["role"] = t.role;
    if (!t.model.empty()) o["model"] = t.model;
    if (t.tools) o["tools"] = strings(*t.tools);
    if (t.priority != 0) o["priority"] = t.priority;
    if (t.optional) o["optional"] = true;
    tasks.emplace_back(std::move(o));
  }
  return {{"question", p.question},
          {"subtasks", std::move(tasks)},
          {"combine", to_string(p.combine)},
          {"verify", p.verify},
          {"verify_rounds", p.verify_rounds}};
}

}  // namespace conclave
