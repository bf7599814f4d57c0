// The run report as JSON, written as the parts the run's events carry (plan, agent, combine,
// totals); the whole report is their union. report_read.cpp reads the same parts back.
#include <conclave/engine/error.hpp>
#include <conclave/engine/report.hpp>

#include <boost/json/value.hpp>

namespace json = boost::json;

namespace conclave {
namespace {

double ms(std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1000.0; }

json::value text_or_null(const std::string& s) {
  return s.empty() ? json::value(nullptr) : json::value(s);
}

json::array strings(const std::vector<std::string>& list) {
  json::array out;
  for (const auto& s : list) out.emplace_back(s);
  return out;
}

json::array numbered(const std::vector<std::size_t>& indices) {  // from 1, as on screen
  json::array out;
  for (auto i : indices) out.emplace_back(i + 1);
  return out;
}

json::object tool_call_json(const tool_call_record& c) {
  json::object o{{"name", c.name},
                 {"turn", c.turn},
                 {"duration_ms", ms(c.duration)},
                 {"outcome", c.outcome},
                 {"arguments_bytes", c.arguments_bytes},
                 {"result_bytes", c.result_bytes},
                 {"error", text_or_null(c.error)}};
  if (!c.resource.empty()) {
    o["resource"] = c.resource;
    o["resource_held"] = c.resource_held;
  }
  return o;
}

json::object error_json(const agent_report& a) {
  json::object err{{"code", error_id(a.error)}, {"message", a.error.message()}};
  if (!a.diag.message.empty()) err["detail"] = a.diag.message;
  if (a.diag.http_status != 0) err["http_status"] = a.diag.http_status;
  if (a.diag.retry_after) err["retry_after_ms"] = a.diag.retry_after->count();
  if (!a.diag.request_id.empty()) err["request_id"] = a.diag.request_id;
  if (!a.diag.provider_code.empty()) err["provider_code"] = a.diag.provider_code;
  return err;
}

usage agent_tokens(const run_report& r) {
  usage u;
  for (const auto& a : r.agents) u += a.tokens;
  return u;
}

}  // namespace

json::object to_json(const usage& u) {
  json::object o{{"input_tokens", u.prompt_tokens},
                 {"output_tokens", u.completion_tokens},
                 {"total_tokens", u.total()}};
  if (u.cache_read_tokens != 0) o["cache_read_tokens"] = u.cache_read_tokens;
  if (u.cache_write_tokens != 0) o["cache_write_tokens"] = u.cache_write_tokens;
  return o;
}

json::object agent_json(const agent_report& a) {
  json::object o{
      {"agent", a.index + 1},  // numbered as on screen
      {"id", a.id},
      {"sub_question", a.sub_question},
      {"depends_on", strings(a.depends_on)},
      {"status", to_string(a.status)},
      {"answer", has_answer(a.status) && !a.answer.empty() ? json::value(a.answer) : nullptr},
      {"stop_reason", to_string(a.stop)},
      {"truncated", a.stop == stop_reason::length},
      {"refused", a.stop == stop_reason::content_filter},
      {"model", text_or_null(a.model)},
      {"model_ref", text_or_null(a.model_ref)},
      {"queued_ms", ms(a.queued)},
      {"latency_ms", ms(a.latency)},
      {"attempts", a.attempts},
      {"tokens", to_json(a.tokens)},
      {"turns", a.turns},
      {"tool_time_ms", ms(a.tool_time)}};
  json::array per_turn;
  for (const auto& t : a.turn_tokens) per_turn.push_back(to_json(t));
  o["turn_tokens"] = std::move(per_turn);
  json::array calls;
  for (const auto& c : a.tool_calls) calls.push_back(tool_call_json(c));
  o["tool_calls"] = std::move(calls);
  json::array tried;
  for (const auto& m : a.models_tried) tried.emplace_back(m.empty() ? "(default)" : m);
  o["models_tried"] = std::move(tried);
  if (a.replayed) o["replayed"] = true;
  o["error"] = a.error ? json::value(error_json(a)) : json::value(nullptr);
  if (!a.verdict.empty()) {
    o["verdict"] = a.verdict;
    o["critique"] = text_or_null(a.critique);
    o["revisions"] = a.revisions;
  }
  return o;
}

json::object plan_part_json(const run_report& r) {
  return {{"question", r.question},
          {"planned", r.planned},
          {"sub_questions", strings(r.sub_questions)},
          {"decomposition", json::object{{"model", text_or_null(r.decomposition_model)},
                                         {"model_ref", text_or_null(r.decomposition_model_ref)},
                                         {"calls", r.decomposition_attempts},
                                         {"fallback", r.decomposition_fallback},
                                         {"note", text_or_null(r.decomposition_note)},
                                         {"tokens", to_json(r.decomposition_tokens)}}}};
}

json::object combine_part_json(const run_report& r) {
  json::object combine{{"mode", r.combine}, {"note", text_or_null(r.combine_note)}};
  if (r.combine == "vote") {
    json::array options;
    for (const auto& v : r.votes) {
      options.push_back(json::object{{"answer", v.answer}, {"agents", numbered(v.agents)}});
    }
    combine["votes"] = std::move(options);
    combine["tie"] = r.vote_tie;
  }
  if (r.selected) combine["selected_agent"] = *r.selected + 1;
  if (r.verify_rounds > 0) combine["verify_rounds"] = r.verify_rounds;
  return {{"answer", r.answer},
          {"degraded", r.degraded},
          {"synthesis_note", text_or_null(r.synthesis_note)},
          {"combine", std::move(combine)},
          {"synthesis", json::object{{"model", text_or_null(r.synthesis_model)},
                                     {"model_ref", text_or_null(r.synthesis_model_ref)},
                                     {"calls", r.synthesis_attempts},
                                     {"input_chars", r.synthesis_input_chars},
                                     {"tokens", to_json(r.synthesis_tokens)}}}};
}

json::object totals_part_json(const run_report& r) {
  json::object by_model;
  for (const auto& [ref, spend] : r.by_model) {
    by_model[ref] = json::object{{"calls", spend.calls}, {"tokens", to_json(spend.tokens)}};
  }
  return {{"budget_exhausted", r.budget_exhausted},
          {"budget_note", text_or_null(r.budget_note)},
          {"stop_note", text_or_null(r.stop_note)},
          {"observer_note", text_or_null(r.observer_note)},
          {"report", json::object{{"wall_ms", ms(r.wall)},
                                  {"fan_out_wall_ms", ms(r.fan_out_wall)},
                                  {"agent_time_sum_ms", ms(r.agent_time_sum)},
                                  {"by_model", std::move(by_model)},
                                  {"cost", r.priced ? json::value(r.cost) : nullptr}}}};
}

json::object to_json(const run_report& r) {
  json::object out{{"schema_version", report_schema_version}};
  for (auto& [k, v] : plan_part_json(r)) out[k] = std::move(v);
  json::array agents;
  for (const auto& a : r.agents) agents.push_back(agent_json(a));
  out["agents"] = std::move(agents);
  for (auto& [k, v] : combine_part_json(r)) out[k] = std::move(v);
  json::array conflicts;
  for (const auto& c : r.conflicts) {
    conflicts.push_back(json::object{{"resource", c.resource}, {"agents", numbered(c.agents)}});
  }
  out["conflicts"] = std::move(conflicts);
  for (auto& [k, v] : totals_part_json(r)) out[k] = std::move(v);
  // What follows from the rest: counts, speedup and token sums, for readers' convenience.
  json::object& report = out["report"].as_object();
  report["speedup"] = r.speedup();
  int agent_calls = 0;
  std::size_t tool_calls = 0;
  for (const auto& a : r.agents) {
    agent_calls += a.attempts;
    tool_calls += a.tool_calls.size();
  }
  for (auto s :
       {agent_status::ok, agent_status::failed, agent_status::timed_out, agent_status::cancelled,
        agent_status::max_turns, agent_status::stalled, agent_status::skipped}) {
    report[std::string("agents_") + to_string(s)] = r.count(s);
  }
  report["tool_calls"] = tool_calls;
  report["calls"] = json::object{{"decomposition", r.decomposition_attempts},
                                 {"agents", agent_calls},
                                 {"synthesis", r.synthesis_attempts}};
  report["tokens"] = json::object{{"decomposition", to_json(r.decomposition_tokens)},
                                  {"agents", to_json(agent_tokens(r))},
                                  {"synthesis", to_json(r.synthesis_tokens)},
                                  {"total", to_json(r.total_tokens())}};
  return out;
}

}  // namespace conclave
