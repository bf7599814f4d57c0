// Reads back the parts report_json.cpp writes, so a run's JSONL events rebuild its report.
// Lenient on absent optional keys, strict on types: a part that is not ours says where.
#include <conclave/engine/error.hpp>
#include <conclave/engine/report.hpp>

#include <boost/json/value.hpp>

#include <cmath>
#include <limits>

namespace json = boost::json;

namespace conclave {
namespace {

// One object's fields, read with their path for the error message.
class fields {
 public:
  fields(const json::object& o, std::string path, std::string& why)
      : o_(o), path_(std::move(path)), why_(why) {}

  bool ok() const noexcept { return ok_; }

  void text(std::string_view key, std::string& out) {
    const json::value* v = o_.if_contains(key);
    if (!v || v->is_null()) return;
    if (!v->is_string()) return fail(key, "expected a string");
    out = std::string(v->get_string());
  }
  void flag(std::string_view key, bool& out) {
    const json::value* v = o_.if_contains(key);
    if (!v || v->is_null()) return;
    if (!v->is_bool()) return fail(key, "expected true or false");
    out = v->get_bool();
  }
  template <typename Int>
  void integer(std::string_view key, Int& out) {
    const json::value* v = o_.if_contains(key);
    if (!v || v->is_null()) return;
    if (v->is_int64() &&
        v->get_int64() >= static_cast<std::int64_t>(std::numeric_limits<Int>::min()) &&
        (v->get_int64() < 0 ||
         static_cast<std::uint64_t>(v->get_int64()) <= std::numeric_limits<Int>::max())) {
      out = static_cast<Int>(v->get_int64());
    } else if (v->is_uint64() && v->get_uint64() <= std::numeric_limits<Int>::max()) {
      out = static_cast<Int>(v->get_uint64());
    } else {
      fail(key, "expected an integer in range");
    }
  }
  void number(std::string_view key, double& out) {
    const json::value* v = o_.if_contains(key);
    if (!v || v->is_null()) return;
    if (!v->is_number()) return fail(key, "expected a number");
    out = v->to_number<double>();
  }
  void millis(std::string_view key, std::chrono::microseconds& out) {
    double m = 0;
    number(key, m);
    if (!std::isfinite(m) || std::fabs(m) > 1e15) return fail(key, "out of range");
    out = std::chrono::microseconds(std::llround(m * 1000.0));
  }
  void tokens(std::string_view key, usage& out) {
    if (const json::object* t = object(key)) {
      fields f(*t, path_ + "." + std::string(key), why_);
      f.integer("input_tokens", out.prompt_tokens);
      f.integer("output_tokens", out.completion_tokens);
      f.integer("cache_read_tokens", out.cache_read_tokens);
      f.integer("cache_write_tokens", out.cache_write_tokens);
      ok_ = ok_ && f.ok();
    }
  }
  void list(std::string_view key, std::vector<std::string>& out) {
    if (const json::array* a = array(key)) {
      out.clear();
      for (const auto& item : *a) {
        if (!item.is_string()) return fail(key, "expected an array of strings");
        out.emplace_back(item.get_string());
      }
    }
  }
  // Numbered from 1 in JSON, indices from 0 here.
  void indices(std::string_view key, std::vector<std::size_t>& out) {
    if (const json::array* a = array(key)) {
      out.clear();
      for (const auto& item : *a) {
        if (!item.is_int64() || item.get_int64() < 1) return fail(key, "expected agent numbers");
        out.push_back(static_cast<std::size_t>(item.get_int64() - 1));
      }
    }
  }
  const json::object* object(std::string_view key) {
    const json::value* v = o_.if_contains(key);
    if (!v || v->is_null()) return nullptr;
    if (!v->is_object()) {
      fail(key, "expected an object");
      return nullptr;
    }
    return &v->get_object();
  }
  const json::array* array(std::string_view key) {
    const json::value* v = o_.if_contains(key);
    if (!v || v->is_null()) return nullptr;
    if (!v->is_array()) {
      fail(key, "expected an array");
      return nullptr;
    }
    return &v->get_array();
  }
  void fail(std::string_view key, std::string_view what) {
    if (ok_) why_ = path_ + "." + std::string(key) + ": " + std::string(what);
    ok_ = false;
  }
  fields nested(const json::object& o, std::string_view key) {
    return fields(o, path_ + "." + std::string(key), why_);
  }
  void absorb(const fields& f) { ok_ = ok_ && f.ok(); }

 private:
  const json::object& o_;
  std::string path_;
  std::string& why_;
  bool ok_ = true;
};

template <typename Enum>
bool enum_from(std::string_view name, Enum& out, Enum last) {
  for (int v = 0; v <= static_cast<int>(last); ++v) {
    if (name == to_string(static_cast<Enum>(v))) {
      out = static_cast<Enum>(v);
      return true;
    }
  }
  return false;
}

bool read_tool_call(const json::object& o, std::string path, tool_call_record& c,
                    std::string& why) {
  fields f(o, std::move(path), why);
  f.text("name", c.name);
  f.integer("turn", c.turn);
  f.millis("duration_ms", c.duration);
  f.text("outcome", c.outcome);
  f.integer("arguments_bytes", c.arguments_bytes);
  f.integer("result_bytes", c.result_bytes);
  f.text("error", c.error);
  f.text("resource", c.resource);
  f.flag("resource_held", c.resource_held);
  return f.ok();
}

}  // namespace

bool read_agent(const json::object& o, agent_report& a, std::string& why) {
  fields f(o, "agent", why);
  std::size_t number = 0;
  f.integer("agent", number);
  if (number == 0) f.fail("agent", "expected the agent's number, from 1");
  a.index = number > 0 ? number - 1 : 0;
  f.text("id", a.id);
  f.text("sub_question", a.sub_question);
  f.list("depends_on", a.depends_on);
  std::string status, stop;
  f.text("status", status);
  if (!enum_from(status, a.status, agent_status::skipped)) f.fail("status", "unknown status");
  f.text("answer", a.answer);
  f.text("stop_reason", stop);
  if (!stop.empty() && !enum_from(stop, a.stop, stop_reason::paused)) {
    f.fail("stop_reason", "unknown stop reason");
  }
  f.text("model", a.model);
  f.text("model_ref", a.model_ref);
  f.millis("queued_ms", a.queued);
  f.millis("latency_ms", a.latency);
  f.integer("attempts", a.attempts);
  f.flag("replayed", a.replayed);
  f.tokens("tokens", a.tokens);
  f.integer("turns", a.turns);
  f.millis("tool_time_ms", a.tool_time);
  if (const json::array* turns = f.array("turn_tokens")) {
    a.turn_tokens.assign(turns->size(), usage{});
    for (std::size_t k = 0; k < turns->size() && f.ok(); ++k) {
      const json::object* t = (*turns)[k].if_object();
      if (!t) return f.fail("turn_tokens", "expected token objects"), false;
      json::object wrap{{"t", *t}};
      fields w(wrap, "agent.turn_tokens", why);
      w.tokens("t", a.turn_tokens[k]);
      f.absorb(w);
    }
  }
  if (const json::array* calls = f.array("tool_calls")) {
    a.tool_calls.assign(calls->size(), tool_call_record{});
    for (std::size_t k = 0; k < calls->size() && f.ok(); ++k) {
      const json::object* c = (*calls)[k].if_object();
      if (!c || !read_tool_call(*c, "agent.tool_calls", a.tool_calls[k], why)) {
        f.fail("tool_calls", "expected tool call records");
      }
    }
  }
  f.list("models_tried", a.models_tried);
  for (auto& m : a.models_tried) {
    if (m == "(default)") m.clear();
  }
  if (const json::object* err = f.object("error")) {
    fields e = f.nested(*err, "error");
    std::string code;
    e.text("code", code);
    a.error = error_from_id(code);
    e.text("detail", a.diag.message);
    e.integer("http_status", a.diag.http_status);
    std::int64_t retry_ms = -1;
    e.integer("retry_after_ms", retry_ms);
    if (retry_ms >= 0) a.diag.retry_after = std::chrono::milliseconds(retry_ms);
    e.text("request_id", a.diag.request_id);
    e.text("provider_code", a.diag.provider_code);
    f.absorb(e);
  }
  f.text("verdict", a.verdict);
  f.text("critique", a.critique);
  f.integer("revisions", a.revisions);
  return f.ok();
}

bool read_plan_part(const json::object& o, run_report& r, std::string& why) {
  fields f(o, "run", why);
  f.text("question", r.question);
  f.flag("planned", r.planned);
  f.list("sub_questions", r.sub_questions);
  if (const json::object* d = f.object("decomposition")) {
    fields g = f.nested(*d, "decomposition");
    g.text("model", r.decomposition_model);
    g.text("model_ref", r.decomposition_model_ref);
    g.integer("calls", r.decomposition_attempts);
    g.flag("fallback", r.decomposition_fallback);
    g.text("note", r.decomposition_note);
    g.tokens("tokens", r.decomposition_tokens);
    f.absorb(g);
  }
  return f.ok();
}

bool read_combine_part(const json::object& o, run_report& r, std::string& why) {
  fields f(o, "run", why);
  f.text("answer", r.answer);
  f.flag("degraded", r.degraded);
  f.text("synthesis_note", r.synthesis_note);
  if (const json::object* c = f.object("combine")) {
    fields g = f.nested(*c, "combine");
    g.text("mode", r.combine);
    g.text("note", r.combine_note);
    g.flag("tie", r.vote_tie);
    std::size_t selected = 0;
    g.integer("selected_agent", selected);
    if (selected > 0) r.selected = selected - 1;
    g.integer("verify_rounds", r.verify_rounds);
    if (const json::array* votes = g.array("votes")) {
      r.votes.clear();
      for (const auto& v : *votes) {
        const json::object* vo = v.if_object();
        if (!vo) return g.fail("votes", "expected vote objects"), false;
        vote_option option;
        fields h = g.nested(*vo, "votes");
        h.text("answer", option.answer);
        h.indices("agents", option.agents);
        g.absorb(h);
        r.votes.push_back(std::move(option));
      }
    }
    f.absorb(g);
  }
  if (const json::object* s = f.object("synthesis")) {
    fields g = f.nested(*s, "synthesis");
    g.text("model", r.synthesis_model);
    g.text("model_ref", r.synthesis_model_ref);
    g.integer("calls", r.synthesis_attempts);
    g.integer("input_chars", r.synthesis_input_chars);
    g.tokens("tokens", r.synthesis_tokens);
    f.absorb(g);
  }
  return f.ok();
}

bool read_totals_part(const json::object& o, run_report& r, std::string& why) {
  fields f(o, "run", why);
  f.flag("budget_exhausted", r.budget_exhausted);
  f.text("budget_note", r.budget_note);
  f.text("stop_note", r.stop_note);
  f.text("observer_note", r.observer_note);
  if (const json::object* t = f.object("report")) {
    fields g = f.nested(*t, "report");
    g.millis("wall_ms", r.wall);
    g.millis("fan_out_wall_ms", r.fan_out_wall);
    g.millis("agent_time_sum_ms", r.agent_time_sum);
    const json::value* cost = t->if_contains("cost");
    r.priced = cost && !cost->is_null();
    if (r.priced) g.number("cost", r.cost);
    if (const json::object* models = g.object("by_model")) {
      r.by_model.clear();
      for (const auto& [ref, v] : *models) {
        const json::object* m = v.if_object();
        if (!m) return g.fail("by_model", "expected objects"), false;
        model_spend spend;
        fields h = g.nested(*m, "by_model");
        h.integer("calls", spend.calls);
        h.tokens("tokens", spend.tokens);
        g.absorb(h);
        r.by_model.emplace(std::string(ref), spend);
      }
    }
    f.absorb(g);
  }
  return f.ok();
}

}  // namespace conclave
