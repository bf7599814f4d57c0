#include <conclave/engine/plan.hpp>
#include <conclave/engine/report_fold.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>

namespace json = boost::json;

namespace conclave {
namespace {

void copy_plan_part(const run_report& from, run_report& to) {
  to.question = from.question;
  to.planned = from.planned;
  to.sub_questions = from.sub_questions;
  to.decomposition_fallback = from.decomposition_fallback;
  to.decomposition_note = from.decomposition_note;
  to.decomposition_model = from.decomposition_model;
  to.decomposition_model_ref = from.decomposition_model_ref;
  to.decomposition_tokens = from.decomposition_tokens;
  to.decomposition_attempts = from.decomposition_attempts;
}

void copy_combine_part(const run_report& from, run_report& to) {
  to.answer = from.answer;
  to.degraded = from.degraded;
  to.synthesis_note = from.synthesis_note;
  to.synthesis_input_chars = from.synthesis_input_chars;
  to.combine = from.combine;
  to.combine_note = from.combine_note;
  to.votes = from.votes;
  to.vote_tie = from.vote_tie;
  to.selected = from.selected;
  to.verify_rounds = from.verify_rounds;
  to.synthesis_model = from.synthesis_model;
  to.synthesis_model_ref = from.synthesis_model_ref;
  to.synthesis_tokens = from.synthesis_tokens;
  to.synthesis_attempts = from.synthesis_attempts;
}

void copy_totals_part(const run_report& from, run_report& to) {
  to.budget_exhausted = from.budget_exhausted;
  to.budget_note = from.budget_note;
  to.stop_note = from.stop_note;
  to.observer_note = from.observer_note;
  to.by_model = from.by_model;
  to.cost = from.cost;
  to.priced = from.priced;
  to.wall = from.wall;
  to.fan_out_wall = from.fan_out_wall;
  to.agent_time_sum = from.agent_time_sum;
}

}  // namespace

void report_fold::make_whole() const {
  if (whole_) return;
  std::vector<agent_report> agents(std::max(planned_, arrived_.size()));
  for (std::size_t i = 0; i < agents.size(); ++i) {
    if (i < arrived_.size() && arrived_[i]) {
      agents[i] = *arrived_[i];
      arrived_[i].reset();  // one entry at a time held twice, not all of them
    }
    agents[i].index = i;
  }
  report_.agents = std::move(agents);
  arrived_ = {};
  whole_ = true;
}

const run_report& report_fold::report() const {
  make_whole();
  return report_;
}

run_report report_fold::take() {
  make_whole();
  return std::move(report_);
}

const agent_report* report_fold::agent(std::size_t i) const noexcept {
  if (whole_) return i < report_.agents.size() ? &report_.agents[i] : nullptr;
  return i < arrived_.size() ? arrived_[i].get() : nullptr;
}

void report_fold::apply(const event& e) {
  // Never more entries than a plan may have, whatever a (replayed) event claims.
  if (e.count > max_plan_subtasks || (e.agent && *e.agent >= max_plan_subtasks)) return;
  if (e.kind == event_kind::decomposed && e.run) {
    copy_plan_part(*e.run, report_);
    planned_ = e.count;
    if (whole_) {
      report_.agents.resize(e.count);
      for (std::size_t i = 0; i < report_.agents.size(); ++i) report_.agents[i].index = i;
    } else if (arrived_.size() > e.count) {
      arrived_.resize(e.count);  // as the vector would have been cut
    }
  }
  if (e.agent && e.report && (is_terminal(e.kind) || e.kind == event_kind::judged)) {
    const std::size_t i = *e.agent;
    if (whole_) {
      if (i >= report_.agents.size()) report_.agents.resize(i + 1);
      report_.agents[i] = *e.report;
      report_.agents[i].index = i;
    } else {
      if (i >= arrived_.size()) arrived_.resize(i + 1);
      arrived_[i] = e.report;
    }
  }
  if (e.agent && e.kind == event_kind::tool_call_finished && !e.resource.empty() &&
      writes_.note(*e.agent, e.resource, e.held)) {
    report_.conflicts = writes_.conflicts();
  }
  if (e.kind == event_kind::combined && e.run) copy_combine_part(*e.run, report_);
  if (e.kind == event_kind::finished && e.run) copy_totals_part(*e.run, report_);
}

bool from_json_line(std::string_view line, event& out, std::string& why) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec || !v.is_object()) {
    why = "not a JSON object";
    return false;
  }
  const json::object& o = v.get_object();
  const json::value* kind = o.if_contains("event");
  if (!kind || !kind->is_string()) {
    why = "no \"event\" name";
    return false;
  }
  bool known = false;
  for (int k = 0; k <= static_cast<int>(event_kind::finished); ++k) {
    if (kind->get_string() == to_string(static_cast<event_kind>(k))) {
      out = event{};
      out.kind = static_cast<event_kind>(k);
      known = true;
      break;
    }
  }
  if (!known) {
    why = "unknown event \"" + std::string(kind->get_string().subview(0, 64)) + "\"";
    return false;
  }
  // Plain fields of the wrong type read as absent; payloads are checked strictly below.
  auto number = [&](std::string_view key) -> std::int64_t {
    const json::value* x = o.if_contains(key);
    return x && x->is_int64() ? std::clamp<std::int64_t>(x->get_int64(), 0, 1'000'000'000) : 0;
  };
  auto text = [&](std::string_view key) -> std::string {
    const json::value* x = o.if_contains(key);
    return x && x->is_string() ? std::string(x->get_string()) : std::string();
  };
  if (const json::value* t = o.if_contains("t_ms"); t && t->is_number()) {
    const double ms = t->to_number<double>();
    if (std::isfinite(ms) && ms >= 0 && ms < 1e15) {
      out.at = std::chrono::microseconds(std::llround(ms * 1000.0));
    }
  }
  if (const auto a = number("agent"); a >= 1) out.agent = static_cast<std::size_t>(a - 1);
  if ((out.agent && *out.agent >= max_plan_subtasks) ||
      (out.kind != event_kind::queued &&
       number("count") > static_cast<std::int64_t>(max_plan_subtasks))) {
    why = "an agent number or count past what a plan may have";
    return false;
  }
  out.text = text("text");
  out.attempt = static_cast<int>(number("attempt"));
  out.turn = static_cast<int>(number("turn"));
  out.model = text("model");
  out.tool = text("tool");
  out.resource = text("resource");
  if (const json::value* h = o.if_contains("held"); h && h->is_bool()) out.held = h->get_bool();
  if (out.kind == event_kind::tool_call_finished) {
    const json::value* err = o.if_contains("error");
    out.text = err && err->is_string() ? std::string(err->get_string()) : std::string();
  }
  out.count = static_cast<std::size_t>(
      std::max<std::int64_t>(0, number(out.kind == event_kind::queued ? "max_turns" : "count")));
  if (const json::value* t = o.if_contains("tokens"); t && t->is_object()) {
    run_report tokens_holder;  // the report's own token reader
    json::object d{{"tokens", *t}};
    if (!read_plan_part(json::object{{"decomposition", d}}, tokens_holder, why)) return false;
    out.tokens = tokens_holder.decomposition_tokens;
  }
  if (const json::value* r = o.if_contains("report"); r && r->is_object()) {
    auto rep = std::make_shared<agent_report>();
    if (!read_agent(r->get_object(), *rep, why)) return false;
    out.stop = rep->stop;
    out.report = std::move(rep);
  }
  if (const json::value* p = o.if_contains("plan");
      p && p->is_object() && out.kind == event_kind::decomposed) {
    plan_parse_result read = parse_plan(json::serialize(*p));
    if (!read.value) {
      why = "plan: " + read.error;
      return false;
    }
    out.full_plan = std::make_shared<const plan>(std::move(*read.value));
  }
  if (const json::value* r = o.if_contains("run"); r && r->is_object()) {
    auto run = std::make_shared<run_report>();
    const bool ok = out.kind == event_kind::decomposed ? read_plan_part(r->get_object(), *run, why)
                    : out.kind == event_kind::combined
                        ? read_combine_part(r->get_object(), *run, why)
                        : read_totals_part(r->get_object(), *run, why);
    if (!ok) return false;
    out.run = std::move(run);
  }
  return true;
}

}  // namespace conclave
