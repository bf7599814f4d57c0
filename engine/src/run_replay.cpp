#include <conclave/engine/events.hpp>
#include <conclave/engine/report_fold.hpp>
#include <conclave/engine/run_replay.hpp>

namespace conclave {
namespace {

bool finished_by_own_cause(event_kind k) {
  return k == event_kind::completed || k == event_kind::failed || k == event_kind::timed_out ||
         k == event_kind::stopped;
}

}  // namespace

std::optional<recorded_run> read_recorded_run(const std::vector<std::string>& lines,
                                              std::string& why) {
  recorded_run out;
  // Failed attempts by agent index, kept until we know whether the agent finished (then its
  // report already counts them).
  std::map<std::size_t, std::vector<std::pair<std::string, usage>>> attempts;
  std::map<std::size_t, std::string> id_of;
  // An agent's last report when it ended cut short (cancelled, say by a shutdown): what it
  // spent, its failed attempts included, counts even though it runs again.
  std::map<std::size_t, agent_report> cut;
  for (std::size_t n = 0; n < lines.size(); ++n) {
    event e;
    std::string bad;
    if (!from_json_line(lines[n], e, bad)) {
      why = "journal step " + std::to_string(n + 1) + " is not an event: " + bad;
      return std::nullopt;
    }
    if (e.kind == event_kind::decomposed) {
      if (e.full_plan) out.plan_ran = *e.full_plan;
      if (e.run) out.decomposition = *e.run;
      continue;
    }
    if (e.kind == event_kind::retrying && e.agent) {
      attempts[*e.agent].emplace_back(e.model, e.tokens);
      continue;
    }
    if (!e.report || !e.agent) continue;
    id_of[*e.agent] = e.report->id;
    if (finished_by_own_cause(e.kind)) {
      out.finished[e.report->id] = *e.report;
      cut.erase(*e.agent);
    } else {
      out.finished.erase(e.report->id);  // a later cancel (a revision cut short) wins
      cut[*e.agent] = *e.report;
    }
  }
  for (auto& [agent, spent] : attempts) {
    const auto id = id_of.find(agent);
    if (id != id_of.end() && out.finished.count(id->second)) continue;
    if (cut.count(agent)) continue;  // its report below counts these attempts already
    for (auto& s : spent) out.other_spend.push_back(std::move(s));
  }
  for (auto& [agent, rep] : cut) {
    if (rep.tokens.total() > 0) out.other_spend.emplace_back(rep.model_ref, rep.tokens);
  }
  return out;
}

usage recorded_spend(const recorded_run& r) {
  usage u = r.decomposition.decomposition_tokens;
  for (const auto& [id, a] : r.finished) u += a.tokens;
  for (const auto& [model, t] : r.other_spend) u += t;
  return u;
}

}  // namespace conclave
