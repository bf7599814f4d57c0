#include <conclave/engine/error.hpp>
#include <conclave/engine/report.hpp>

#include <boost/json/value.hpp>

namespace json = boost::json;

namespace conclave {
namespace {

int agent_attempts(const run_report& r) {
  int n = 0;
  for (const auto& a : r.agents) n += a.attempts;
  return n;
}

std::size_t tool_call_count(const run_report& r) {
  std::size_t n = 0;
  for (const auto& a : r.agents) n += a.tool_calls.size();
  return n;
}

double ms(std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1000.0; }

usage agent_tokens(const run_report& r) {
  usage u;
  for (const auto& a : r.agents) u += a.tokens;
  return u;
}

}  // namespace

const char* to_string(agent_status s) noexcept {
  switch (s) {
    case agent_status::ok:
      return "ok";
    case agent_status::failed:
      return "failed";
    case agent_status::timed_out:
      return "timed_out";
    case agent_status::cancelled:
      return "cancelled";
    case agent_status::max_turns:
      return "max_turns";
    case agent_status::stalled:
      return "stalled";
  }
  return "unknown";
}

bool has_answer(agent_status s) noexcept {
  return s == agent_status::ok || s == agent_status::max_turns || s == agent_status::stalled;
}

const char* answer_mark(stop_reason s) noexcept {
  switch (s) {
    case stop_reason::length:
      return "truncated";
    case stop_reason::content_filter:
      return "refused";
    default:
      return "";
  }
}

usage run_report::total_tokens() const noexcept {
  usage u = decomposition_tokens;
  u += synthesis_tokens;
  for (const auto& a : agents) u += a.tokens;
  return u;
}

double run_report::speedup() const noexcept {
  if (fan_out_wall.count() <= 0) return 0.0;
  return static_cast<double>(agent_time_sum.count()) / static_cast<double>(fan_out_wall.count());
}

std::size_t run_report::answered() const noexcept {
  std::size_t n = 0;
  for (const auto& a : agents) n += has_answer(a.status) && !a.answer.empty();
  return n;
}

std::size_t run_report::count(agent_status s) const noexcept {
  std::size_t n = 0;
  for (const auto& a : agents) n += a.status == s;
  return n;
}

json::object to_json(const usage& u) {
  return {{"input_tokens", u.prompt_tokens},
          {"output_tokens", u.completion_tokens},
          {"total_tokens", u.total()}};
}

namespace {

// report.by_model: what each model (as routed) was asked for, attempts and tokens.
json::object by_model_json(const run_report& r) {
  json::object out;
  for (const auto& [ref, spend] : r.by_model) {
    out[ref] = json::object{{"calls", spend.calls}, {"tokens", to_json(spend.tokens)}};
  }
  return out;
}

}  // namespace

json::object to_json(const run_report& r) {
  auto text_or_null = [](const std::string& s) -> json::value {
    return s.empty() ? json::value(nullptr) : json::value(s);
  };
  json::array agents;
  for (const auto& a : r.agents) {
    json::object o{
        {"agent", a.index + 1},  // numbered as on screen
        {"sub_question", a.sub_question},
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
    for (const auto& c : a.tool_calls) {
      calls.push_back(json::object{{"name", c.name},
                                   {"turn", c.turn},
                                   {"duration_ms", ms(c.duration)},
                                   {"outcome", c.outcome},
                                   {"arguments_bytes", c.arguments_bytes},
                                   {"result_bytes", c.result_bytes},
                                   {"error", text_or_null(c.error)}});
    }
    o["tool_calls"] = std::move(calls);
    json::array tried;
    for (const auto& m : a.models_tried) tried.emplace_back(m.empty() ? "(default)" : m);
    o["models_tried"] = std::move(tried);
    o["error"] = nullptr;
    if (a.error) {
      json::object err{{"code", error_id(a.error)}, {"message", a.error.message()}};
      if (!a.diag.message.empty()) err["detail"] = a.diag.message;
      if (a.diag.http_status != 0) err["http_status"] = a.diag.http_status;
      if (a.diag.retry_after) err["retry_after_ms"] = a.diag.retry_after->count();
      if (!a.diag.request_id.empty()) err["request_id"] = a.diag.request_id;
      o["error"] = std::move(err);
    }
    agents.push_back(std::move(o));
  }
  json::object out{
      {"schema_version", report_schema_version},
      {"question", r.question},
      {"answer", r.answer},
      {"degraded", r.degraded},
      {"synthesis_note", text_or_null(r.synthesis_note)},
      {"decomposition", json::object{{"model", text_or_null(r.decomposition_model)},
                                     {"model_ref", text_or_null(r.decomposition_model_ref)},
                                     {"calls", r.decomposition_attempts},
                                     {"fallback", r.decomposition_fallback},
                                     {"note", text_or_null(r.decomposition_note)},
                                     {"tokens", to_json(r.decomposition_tokens)}}},
      {"agents", std::move(agents)},
      {"synthesis", json::object{{"model", text_or_null(r.synthesis_model)},
                                 {"model_ref", text_or_null(r.synthesis_model_ref)},
                                 {"calls", r.synthesis_attempts},
                                 {"input_chars", r.synthesis_input_chars},
                                 {"tokens", to_json(r.synthesis_tokens)}}},
      {"budget_exhausted", r.budget_exhausted},
      {"budget_note", text_or_null(r.budget_note)},
      {"stop_note", text_or_null(r.stop_note)}};
  out["report"] =
      json::object{{"wall_ms", ms(r.wall)},
                   {"fan_out_wall_ms", ms(r.fan_out_wall)},
                   {"agent_time_sum_ms", ms(r.agent_time_sum)},
                   {"speedup", r.speedup()},
                   {"agents_ok", r.count(agent_status::ok)},
                   {"agents_failed", r.count(agent_status::failed)},
                   {"agents_timed_out", r.count(agent_status::timed_out)},
                   {"agents_cancelled", r.count(agent_status::cancelled)},
                   {"agents_max_turns", r.count(agent_status::max_turns)},
                   {"agents_stalled", r.count(agent_status::stalled)},
                   {"tool_calls", tool_call_count(r)},
                   {"calls", json::object{{"decomposition", r.decomposition_attempts},
                                          {"agents", agent_attempts(r)},
                                          {"synthesis", r.synthesis_attempts}}},
                   {"by_model", by_model_json(r)},
                   {"cost", r.priced ? json::value(r.cost) : nullptr},
                   {"tokens", json::object{{"decomposition", to_json(r.decomposition_tokens)},
                                           {"agents", to_json(agent_tokens(r))},
                                           {"synthesis", to_json(r.synthesis_tokens)},
                                           {"total", to_json(r.total_tokens())}}}};
  return out;
}

}  // namespace conclave
