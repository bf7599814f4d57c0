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

double ms(std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1000.0; }

json::object to_json(const usage& u) {
  return {{"prompt_tokens", u.prompt_tokens}, {"completion_tokens", u.completion_tokens}};
}

}  // namespace

const char* to_string(agent_status s) noexcept {
  switch (s) {
    case agent_status::ok: return "ok";
    case agent_status::failed: return "failed";
    case agent_status::timed_out: return "timed_out";
    case agent_status::cancelled: return "cancelled";
  }
  return "unknown";
}

const char* answer_mark(stop_reason s) noexcept {
  switch (s) {
    case stop_reason::length: return "truncated";
    case stop_reason::content_filter: return "refused";
    default: return "";
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

std::size_t run_report::count(agent_status s) const noexcept {
  std::size_t n = 0;
  for (const auto& a : agents) n += a.status == s;
  return n;
}

json::object to_json(const run_report& r) {
  json::array agents;
  for (const auto& a : r.agents) {
    json::object o{{"index", a.index},
                   {"sub_question", a.sub_question},
                   {"status", to_string(a.status)},
                   {"queued_ms", ms(a.queued)},
                   {"latency_ms", ms(a.latency)},
                   {"attempts", a.attempts},
                   {"tokens", to_json(a.tokens)}};
    if (a.status == agent_status::ok) o["answer"] = a.answer;
    if (!a.model.empty()) o["model"] = a.model;
    if (a.models_tried.size() > 1) {
      json::array tried;
      for (const auto& m : a.models_tried) tried.emplace_back(m.empty() ? "(default)" : m);
      o["models_tried"] = std::move(tried);
    }
    if (a.error) {
      json::object err{{"code", error_id(a.error)}, {"message", a.error.message()}};
      if (!a.diag.message.empty()) err["detail"] = a.diag.message;
      if (a.diag.http_status != 0) err["http_status"] = a.diag.http_status;
      o["error"] = std::move(err);
    }
    agents.push_back(std::move(o));
  }
  json::object out{{"question", r.question},
                   {"answer", r.answer},
                   {"degraded", r.degraded},
                   {"agents", std::move(agents)}};
  if (!r.synthesis_note.empty()) out["synthesis_note"] = r.synthesis_note;
  if (r.decomposition_fallback) out["decomposition_fallback"] = r.decomposition_note;
  if (r.budget_exhausted) out["budget_exhausted"] = r.budget_note;
  out["report"] = json::object{
      {"wall_ms", ms(r.wall)},
      {"fan_out_wall_ms", ms(r.fan_out_wall)},
      {"agent_time_sum_ms", ms(r.agent_time_sum)},
      {"speedup", r.speedup()},
      {"agents_ok", r.count(agent_status::ok)},
      {"agents_failed", r.count(agent_status::failed)},
      {"agents_timed_out", r.count(agent_status::timed_out)},
      {"agents_cancelled", r.count(agent_status::cancelled)},
      {"synthesis_input_chars", r.synthesis_input_chars},
      {"calls", json::object{{"decomposition", r.decomposition_attempts},
                             {"agents", agent_attempts(r)},
                             {"synthesis", r.synthesis_attempts}}},
      {"cost", r.cost},
      {"tokens", json::object{{"decomposition", to_json(r.decomposition_tokens)},
                              {"synthesis", to_json(r.synthesis_tokens)},
                              {"total", to_json(r.total_tokens())}}}};
  return out;
}

}  // namespace conclave
