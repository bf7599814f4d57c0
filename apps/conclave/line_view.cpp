// Plain progress lines: one line per event that matters, for logs, pipes and `-v`.
#include "terminal_text.hpp"
#include "views.hpp"

#include <conclave/engine/report.hpp>

namespace conclave::cli {
namespace {

// "done", or how the answer is marked ("truncated", "refused").
const char* completion_word(stop_reason r) {
  const char* mark = answer_mark(r);
  return *mark ? mark : "done";
}

}  // namespace

line_view::line_view(std::FILE* out, std::string note) : out_(out) {
  if (!note.empty()) std::fprintf(out_, "conclave: %s\n", one_line(note).c_str());
}

void line_view::on_event(const event& e, const progress_map& p) {
  if (e.kind == event_kind::progress) return;
  const std::string t = "[" + seconds(e.at) + "]";
  const std::string said = one_line(e.text);
  if (e.agent) {
    const std::size_t n = *e.agent + 1;
    const auto& a = p.agents()[*e.agent];
    switch (e.kind) {
      case event_kind::queued:
        std::fprintf(out_, "%s agent %zu queued: %s\n", t.c_str(), n, said.c_str());
        break;
      case event_kind::started: {
        const std::string on = e.model.empty() ? "" : ", " + one_line(e.model);
        if (e.turn > 1) {
          std::fprintf(out_, "%s agent %zu turn %d (call %d%s)\n", t.c_str(), n, e.turn, e.attempt,
                       on.c_str());
        } else {
          std::fprintf(out_, "%s agent %zu started (attempt %d%s)\n", t.c_str(), n, e.attempt,
                       on.c_str());
        }
        break;
      }
      case event_kind::tool_call_started:
        std::fprintf(out_, "%s agent %zu calls %s\n", t.c_str(), n, one_line(e.tool).c_str());
        break;
      case event_kind::tool_call_finished:
        std::fprintf(out_, "%s agent %zu %s %s in %s%s%s\n", t.c_str(), n, one_line(e.tool).c_str(),
                     said.empty() ? "answered" : "failed", seconds(e.duration).c_str(),
                     said.empty() ? "" : ": ", said.c_str());
        break;
      case event_kind::retrying:
        std::fprintf(out_, "%s agent %zu retrying: %s\n", t.c_str(), n, said.c_str());
        break;
      case event_kind::completed:
        std::fprintf(out_, "%s agent %zu %s in %s, %lld tokens\n", t.c_str(), n,
                     completion_word(e.stop), seconds(a.finished_at - a.started_at).c_str(),
                     static_cast<long long>(e.tokens.total()));
        break;
      case event_kind::judged:
        std::fprintf(out_, "%s agent %zu judged: %s\n", t.c_str(), n, said.c_str());
        break;
      default:
        std::fprintf(out_, "%s agent %zu %s: %s\n", t.c_str(), n, to_string(a.state), said.c_str());
        break;
    }
  } else if (e.kind == event_kind::decomposed) {
    // Where the subtasks came from: a plan file, the question itself (vote, select, -n 1), or
    // a decomposition call.
    const std::string n = std::to_string(e.count);
    const std::string how = e.run && e.run->planned ? "plan of " + n + " subtask(s)"
                            : e.run && e.run->decomposition_attempts == 0
                                ? n + " agent(s) on the question"
                                : "decomposed into " + n + " sub-question(s)";
    std::fprintf(out_, "%s %s%s%s\n", t.c_str(), how.c_str(), said.empty() ? "" : ": ",
                 said.c_str());
  } else if (e.kind == event_kind::synthesis_started) {
    const bool merge = said.empty() || said == "synthesize";
    std::fprintf(out_, "%s %s %zu decision(s)%s%s\n", t.c_str(),
                 merge ? "synthesizing" : "combining", e.count, merge ? "" : " by ",
                 merge ? "" : said.c_str());
  } else if (e.kind == event_kind::finished) {
    std::fprintf(out_, "%s finished: %s\n", t.c_str(), said.c_str());
  }
  std::fflush(out_);
}

}  // namespace conclave::cli
