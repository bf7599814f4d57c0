#include "run_journal.hpp"

#include "backend.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/json_text.hpp>
#include <conclave/engine/text.hpp>

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <unistd.h>

namespace json = boost::json;

namespace conclave::cli {
namespace {

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// A path as the run saw it, made absolute: a resume from another directory sees the same one.
std::string absolute(const std::string& p) {
  if (p.empty()) return p;
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  return ec ? p : abs.lexically_normal().string();
}

json::value optional_number(const auto& v) { return v ? json::value(*v) : json::value(nullptr); }

// A recorded value, shown in a message: strings bare, numbers short.
std::string shown(const json::value* v) {
  if (!v) return "(none)";
  if (v->is_string()) return v->get_string().empty() ? "(none)" : std::string(v->get_string());
  if (v->is_double()) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v->get_double());
    return ec == std::errc{} ? std::string(buf, end) : to_plain_json(*v);
  }
  return to_plain_json(*v);
}

// Reads a recorded object's fields, each checked.
class options_reader {
 public:
  explicit options_reader(const json::object& o) : o_(o) {}

  void text(const char* key, std::string& out) const {
    if (const auto* v = at(key, v_string)) out = std::string(v->get_string());
  }
  void flag(const char* key, bool& out) const {
    if (const auto* v = at(key, v_bool)) out = v->get_bool();
  }
  template <class Int>
  void whole(const char* key, Int& out) const {
    if (const auto* v = at(key, v_int)) out = static_cast<Int>(v->get_int64());
  }
  void number(const char* key, double& out) const {
    if (const auto* v = at(key, v_number)) out = v->to_number<double>();
  }
  void names(const char* key, std::vector<std::string>& out) const {
    const auto* v = at(key, v_array);
    if (!v) return;
    out.clear();
    for (const auto& e : v->get_array()) {
      if (!e.is_string()) bad(key);
      out.emplace_back(e.get_string());
    }
  }
  void seconds(const char* key, double& out) const {
    std::int64_t ms = 0;
    if (!o_.contains(key)) return;
    whole(key, ms);
    out = ms >= to_milliseconds(year_seconds) ? INFINITY : static_cast<double>(ms) / 1000;
  }
  template <class T>
  void maybe(const char* key, std::optional<T>& out) const {
    const auto* v = o_.if_contains(key);
    if (!v || v->is_null()) return out.reset();
    if (!v->is_number()) bad(key);
    out = v->to_number<T>();
  }

 private:
  enum kind { v_string, v_bool, v_int, v_number, v_array };
  const json::value* at(const char* key, kind k) const {
    const auto* v = o_.if_contains(key);
    if (!v) return nullptr;
    const bool ok = k == v_string   ? v->is_string()
                    : k == v_bool   ? v->is_bool()
                    : k == v_int    ? v->is_int64()
                    : k == v_number ? v->is_number()
                                    : v->is_array();
    if (!ok) bad(key);
    return v;
  }
  [[noreturn]] static void bad(const char* key) {
    throw usage_error(std::string("the journal's options are corrupt: '") + key +
                      "' has the wrong type");
  }
  const json::object& o_;
};

}  // namespace

json::object run_options(const ask_settings& s) {
  const endpoint_choice ep = default_endpoint(s);
  std::map<std::string, json::value> m;  // sorted keys: one text for one set of options
  m["agents"] = s.agents;
  m["max_agents"] = s.max_agents;
  m["combine"] = s.combine;
  m["verify"] = s.verify;
  m["verify_rounds"] = s.verify_rounds;
  m["model"] = s.model;
  m["decompose_model"] = s.decompose_model;
  m["synth_model"] = s.synth_model;
  m["agent_models"] = strings(s.agent_models);
  m["fallback_models"] = strings(s.fallback_models);
  json::object aliases;  // alias_table is a sorted map
  for (const auto& [name, ref] : s.aliases) aliases[name] = ref;
  m["aliases"] = std::move(aliases);
  m["provider"] = ep.provider;
  m["base_url"] = ep.base_url;
  m["max_output_tokens"] = optional_number(s.max_output_tokens);
  m["temperature"] = optional_number(s.temperature);
  m["system"] = s.system;
  m["budget"] = json::object{{"cancel_running", s.budget.cancel_running},
                             {"max_cost", s.budget.max_cost},
                             {"max_tokens", s.budget.max_tokens}};
  json::object prices;
  for (const auto& [name, p] : s.budget.prices) {
    prices[name] = json::object{{"cache_read", optional_number(p.cache_read_per_million)},
                                {"cache_write", optional_number(p.cache_write_per_million)},
                                {"input", p.input_per_million},
                                {"output", p.output_per_million}};
  }
  m["prices"] = std::move(prices);
  m["tools"] = strings(s.tools);
  std::vector<std::string> roots;
  for (const auto& r : s.roots) roots.push_back(absolute(r));
  m["roots"] = strings(roots);
  m["mcp"] = absolute(s.mcp_path);
  m["max_turns"] = s.max_turns;
  m["max_tool_calls"] = s.max_tool_calls;
  m["timeout_ms"] = to_milliseconds(s.timeout_s);
  m["agent_timeout_ms"] = to_milliseconds(s.agent_timeout_s);
  m["decompose_timeout_ms"] = to_milliseconds(s.decompose_timeout_s);
  m["tool_timeout_ms"] = to_milliseconds(s.tool_timeout_s);
  json::object o;
  for (auto& [k, v] : m) o.emplace(k, std::move(v));
  return o;
}

std::string run_options_json(const ask_settings& s) { return json::serialize(run_options(s)); }

void apply_run_options(const json::object& recorded, ask_settings& s) {
  const options_reader r(recorded);
  r.whole("agents", s.agents);
  r.whole("max_agents", s.max_agents);
  r.text("combine", s.combine);
  r.flag("verify", s.verify);
  r.whole("verify_rounds", s.verify_rounds);
  r.text("model", s.model);
  r.text("decompose_model", s.decompose_model);
  r.text("synth_model", s.synth_model);
  r.names("agent_models", s.agent_models);
  r.names("fallback_models", s.fallback_models);
  r.maybe("max_output_tokens", s.max_output_tokens);
  r.maybe("temperature", s.temperature);
  r.text("system", s.system);
  if (const auto* b = recorded.if_contains("budget"); b && b->is_object()) {
    const options_reader budget(b->get_object());
    budget.flag("cancel_running", s.budget.cancel_running);
    budget.number("max_cost", s.budget.max_cost);
    budget.whole("max_tokens", s.budget.max_tokens);
  }
  r.names("tools", s.tools);
  r.names("roots", s.roots);
  r.text("mcp", s.mcp_path);
  r.whole("max_turns", s.max_turns);
  r.whole("max_tool_calls", s.max_tool_calls);
  r.seconds("timeout_ms", s.timeout_s);
  r.seconds("agent_timeout_ms", s.agent_timeout_s);
  r.seconds("decompose_timeout_ms", s.decompose_timeout_s);
  r.seconds("tool_timeout_ms", s.tool_timeout_s);
}

std::vector<std::string> options_changes(const json::object& was, const json::object& now) {
  std::map<std::string, std::pair<const json::value*, const json::value*>> keys;
  for (const auto& [k, v] : was) keys[std::string(k)].first = &v;
  for (const auto& [k, v] : now) keys[std::string(k)].second = &v;
  std::vector<std::string> out;
  for (const auto& [k, pair] : keys) {
    const auto& [a, b] = pair;
    if (a && b && *a == *b) continue;
    out.push_back(k + " was " + text::for_terminal(text::quote(shown(a), 80), false) + ", now " +
                  text::for_terminal(text::quote(shown(b), 80), false));
  }
  return out;
}

std::string journal_path(const ask_settings& s) {
  return s.journal_path.empty() ? journal::default_journal_path() : s.journal_path;
}

std::string resume_command(const std::string& path, const std::string& run_id) {
  const bool is_default = path == journal::default_journal_path();
  return "conclave resume " + (is_default ? "" : "--journal " + path + " ") + run_id;
}

run_journal run_journal::begin(const ask_settings& s, std::string& warning) {
  run_journal r;
  if (!s.journal) return r;
  const std::string path = journal_path(s);
  if (path.empty()) {
    warning = "journal: no state directory (set XDG_STATE_HOME or HOME, or --journal FILE)";
    return r;
  }
  try {
    auto j = journal::journal::open(path);
    std::string plan;
    if (s.plan_to_run) plan = json::serialize(to_json(*s.plan_to_run));
    r.id_ = j->begin_run(s.plan_to_run ? "run" : "ask", s.question, run_options_json(s), plan,
                         "cli:" + std::to_string(::getpid()));
    r.j_ = std::move(j);
    r.status_ = std::make_shared<journal::observer_status>();
  } catch (const std::exception& e) {
    warning = std::string("journal: ") + e.what() + " (the run is not journaled)";
    return run_journal{};
  }
  return r;
}

run_journal run_journal::resumed(std::shared_ptr<journal::journal> j, std::string id) {
  run_journal r;
  r.j_ = std::move(j);
  r.id_ = std::move(id);
  r.status_ = std::make_shared<journal::observer_status>();
  return r;
}

void run_journal::observe(ask_options& opts) {
  if (j_) opts.observers.push_back(journal::journal_observer(j_, id_, status_));
}

std::string run_journal::finish(const boost::system::error_code& ec, bool interrupted,
                                const json::object& report) noexcept {
  if (!j_) return {};
  std::string warning;
  try {
    if (status_->failed()) warning = "journal: " + status_->first_error();
    const char* status = interrupted || ec == error::cancelled ? "cancelled"
                         : ec                                  ? "failed"
                                                               : "succeeded";
    j_->finish_run(id_, status, json::serialize(report));
  } catch (const std::exception& e) {
    warning = std::string("journal: ") + e.what();
  }
  return warning;
}

std::string run_journal::resume_hint() const {
  return j_ ? "run " + id_ + " (resume with: " + resume_command(j_->path(), id_) + ")" : "";
}

}  // namespace conclave::cli
