#include <conclave/engine/events.hpp>
#include <conclave/engine/json_text.hpp>
#include <conclave/engine/plan.hpp>
#include <conclave/engine/progress.hpp>
#include <conclave/engine/report.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace conclave {

const char* to_string(event_kind k) noexcept {
  switch (k) {
    case event_kind::queued:
      return "queued";
    case event_kind::started:
      return "started";
    case event_kind::progress:
      return "progress";
    case event_kind::retrying:
      return "retrying";
    case event_kind::tool_call_started:
      return "tool_call_started";
    case event_kind::tool_call_finished:
      return "tool_call_finished";
    case event_kind::stopped:
      return "stopped";
    case event_kind::completed:
      return "completed";
    case event_kind::failed:
      return "failed";
    case event_kind::timed_out:
      return "timed_out";
    case event_kind::cancelled:
      return "cancelled";
    case event_kind::skipped:
      return "skipped";
    case event_kind::judged:
      return "judged";
    case event_kind::combined:
      return "combined";
    case event_kind::decomposed:
      return "decomposed";
    case event_kind::synthesis_started:
      return "synthesis_started";
    case event_kind::budget_exhausted:
      return "budget_exhausted";
    case event_kind::finished:
      return "finished";
  }
  return "unknown";
}

bool is_terminal(event_kind k) noexcept {
  switch (k) {
    case event_kind::completed:
    case event_kind::failed:
    case event_kind::timed_out:
    case event_kind::cancelled:
    case event_kind::stopped:
    case event_kind::skipped:
      return true;
    default:
      return false;
  }
}

std::string to_json_line(const event& e) {
  boost::json::object o;
  o["event"] = to_string(e.kind);
  o["t_ms"] = static_cast<double>(e.at.count()) / 1000.0;
  if (e.agent) o["agent"] = *e.agent + 1;  // numbered as on screen and in the report
  if (!e.text.empty()) o["text"] = e.text;
  if (e.attempt > 0) o["attempt"] = e.attempt;
  if (e.turn > 0) o["turn"] = e.turn;
  if (!e.model.empty()) o["model"] = e.model;
  if (e.kind == event_kind::tool_call_started || e.kind == event_kind::tool_call_finished) {
    o["tool"] = e.tool;
    o[e.kind == event_kind::tool_call_started ? "arguments_bytes" : "result_bytes"] = e.bytes;
    if (e.kind == event_kind::tool_call_finished) {
      o["duration_ms"] = static_cast<double>(e.duration.count()) / 1000.0;
      o["error"] = e.text.empty() ? boost::json::value(nullptr) : boost::json::value(e.text);
      if (!e.resource.empty()) {
        o["resource"] = e.resource;
        o["held"] = e.held;
      }
    }
  }
  if (e.kind == event_kind::queued && e.count > 0) o["max_turns"] = e.count;
  if (e.kind == event_kind::decomposed || e.kind == event_kind::synthesis_started) {
    o["count"] = e.count;
  }
  if (e.report) o["report"] = agent_json(*e.report);
  if (e.run) {
    o["run"] = e.kind == event_kind::decomposed ? plan_part_json(*e.run)
               : e.kind == event_kind::combined ? combine_part_json(*e.run)
                                                : totals_part_json(*e.run);
  }
  if (e.full_plan) o["plan"] = to_json(*e.full_plan);
  if (e.kind == event_kind::completed) {
    o["stop_reason"] = to_string(e.stop);
    o["truncated"] = e.stop == stop_reason::length;
    o["refused"] = e.stop == stop_reason::content_filter;
  }
  if (e.tokens.total() > 0) o["tokens"] = to_json(e.tokens);
  return to_plain_json(o);
}

const char* to_string(agent_state s) noexcept {
  switch (s) {
    case agent_state::queued:
      return "queued";
    case agent_state::running:
      return "running";
    case agent_state::completed:
      return "done";
    case agent_state::failed:
      return "failed";
    case agent_state::timed_out:
      return "timed out";
    case agent_state::cancelled:
      return "cancelled";
    case agent_state::stopped:
      return "stopped";
    case agent_state::skipped:
      return "skipped";
  }
  return "unknown";
}

const char* to_string(run_phase p) noexcept {
  switch (p) {
    case run_phase::decomposing:
      return "decomposing";
    case run_phase::running:
      return "agents running";
    case run_phase::synthesizing:
      return "synthesizing";
    case run_phase::finished:
      return "finished";
  }
  return "unknown";
}

void progress_map::apply(const event& e) {
  last_ = e.at;
  if (!e.agent) {
    switch (e.kind) {
      case event_kind::decomposed:
        phase_ = run_phase::running;
        run_level_tokens_ += e.tokens;
        break;
      case event_kind::synthesis_started:
        phase_ = run_phase::synthesizing;
        break;
      case event_kind::combined:
        run_level_tokens_ += e.tokens;  // the combine stage's calls
        break;
      case event_kind::finished:
        phase_ = run_phase::finished;
        break;
      default:
        break;
    }
    return;
  }
  const std::size_t i = *e.agent;
  if (i >= agents_.size()) agents_.resize(i + 1);
  agent_progress& a = agents_[i];
  switch (e.kind) {
    case event_kind::queued:
      a.sub_question = e.text;
      a.queued_at = e.at;
      a.max_turns = static_cast<int>(e.count);
      break;
    case event_kind::started:
      a.state = agent_state::running;
      if (a.started_at.count() == 0) a.started_at = e.at;
      a.attempts = e.attempt;
      if (e.turn > 0) a.turn = e.turn;
      a.model = e.model;
      break;
    case event_kind::tool_call_started:
      ++a.tool_calls;
      ++a.tools_running;
      a.last_tool = e.tool;
      break;
    case event_kind::tool_call_finished:
      if (a.tools_running > 0) --a.tools_running;
      if (!e.resource.empty()) writes_.note(i, e.resource, e.held);
      break;
    case event_kind::progress:
      a.streamed_chars += e.text.size();
      a.tokens.completion_tokens = static_cast<std::int64_t>((a.streamed_chars + 3) / 4);
      break;
    case event_kind::retrying:
      a.attempts = e.attempt;
      a.detail = e.text;
      break;
    case event_kind::judged:
      a.verdict = e.text;
      break;
    case event_kind::completed:
    case event_kind::failed:
    case event_kind::timed_out:
    case event_kind::cancelled:
    case event_kind::stopped:
    case event_kind::skipped:
      a.state = e.kind == event_kind::completed   ? agent_state::completed
                : e.kind == event_kind::failed    ? agent_state::failed
                : e.kind == event_kind::timed_out ? agent_state::timed_out
                : e.kind == event_kind::stopped   ? agent_state::stopped
                : e.kind == event_kind::skipped   ? agent_state::skipped
                                                  : agent_state::cancelled;
      a.tools_running = 0;
      a.finished_at = e.at;
      a.tokens = e.tokens;
      a.stop = e.stop;
      a.detail = e.text;
      break;
    default:
      break;
  }
}

std::size_t progress_map::count(agent_state s) const noexcept {
  std::size_t n = 0;
  for (const auto& a : agents_) n += a.state == s;
  return n;
}

bool write_tracker::note(std::size_t agent, const std::string& resource, bool held) {
  auto& w = writers_[resource];
  const bool new_writer = std::find(w.agents.begin(), w.agents.end(), agent) == w.agents.end();
  if (new_writer) w.agents.push_back(agent);
  w.unheld = w.unheld || !held;
  if (w.agents.size() < 2 || !w.unheld) return false;
  // A conflict: listed once, with every writer so far.
  auto it = std::find_if(conflicts_.begin(), conflicts_.end(),
                         [&](const write_conflict& c) { return c.resource == resource; });
  if (it == conflicts_.end()) {
    conflicts_.push_back({resource, w.agents});
    return true;
  }
  const bool grew = it->agents.size() != w.agents.size();
  it->agents = w.agents;
  return grew;
}

usage progress_map::tokens() const noexcept {
  usage u = run_level_tokens_;
  for (const auto& a : agents_) u += a.tokens;
  return u;
}

}  // namespace conclave
