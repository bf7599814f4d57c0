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
      default:
        std::fprintf(out_, "%s agent %zu %s: %s\n", t.c_str(), n, to_string(a.state), said.c_str());
        break;
    }
  } else if (e.kind == event_kind::decomposed) {
    std::fprintf(out_, "%s decomposed into %zu sub-question(s)%s%s\n", t.c_str(), e.count,
                 said.empty() ? "" : ": ", said.c_str());
  } else if (e.kind == event_kind::synthesis_started) {
    std::fprintf(out_, "%s synthesizing %zu decision(s)\n", t.c_str(), e.count);
  } else if (e.kind == event_kind::finished) {
    std::fprintf(out_, "%s finished: %s\n", t.c_str(), said.c_str());
  }
  std::fflush(out_);
}

}  // namespace conclave::cli
