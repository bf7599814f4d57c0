#include "output.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/text.hpp>

#include <cerrno>
#include <map>
#include <vector>

namespace json = boost::json;

namespace conclave::cli {

void text_out::write(std::string_view s) {
  if (s.empty() || failed_) return;  // after a failed write, nothing more is tried
  if (std::fwrite(s.data(), 1, s.size(), f_) != s.size() && !failed_) {
    failed_ = true;
    errno_ = errno;
  }
  at_line_start_ = s.back() == '\n';
}

void text_out::write_model_text(std::string_view s) {
  if (neutralise_) {
    write(text::for_terminal(s, true));
  } else {
    write(text::to_valid_utf8(s));
  }
}

void text_out::flush() {
  if (std::fflush(f_) != 0 && !failed_) {
    failed_ = true;
    errno_ = errno;
  }
  if (std::ferror(f_) && !failed_) failed_ = true;
}

json::object json_result(const backend& b, const boost::system::error_code& ec,
                         const run_report& r) {
  json::object out = to_json(r);
  out["provider"] = b.provider;
  out["note"] = b.note.empty() ? json::value(nullptr) : json::value(b.note);
  if (ec) {
    json::object err{{"code", error_id(ec)}, {"message", ec.message()}};
    if (!r.stop_note.empty()) err["detail"] = r.stop_note;
    out["error"] = std::move(err);
  } else {
    out["error"] = nullptr;
  }
  return out;
}

std::string summary_line(const run_report& r, const std::string& model_description) {
  char head[160];
  std::snprintf(head, sizeof head,
                "[%zu agent(s): %zu ok, %zu failed, %zu timed out, %zu cancelled", r.agents.size(),
                r.count(agent_status::ok), r.count(agent_status::failed),
                r.count(agent_status::timed_out), r.count(agent_status::cancelled));
  char times[160];
  std::snprintf(times, sizeof times, " · wall %.2f s · agent time %.2f s",
                static_cast<double>(r.wall.count()) / 1e6,
                static_cast<double>(r.agent_time_sum.count()) / 1e6);
  std::string line = head;
  const std::size_t stopped = r.count(agent_status::max_turns) + r.count(agent_status::stalled);
  if (stopped > 0) line += ", " + std::to_string(stopped) + " stopped by a loop limit";
  if (const auto skipped = r.count(agent_status::skipped); skipped > 0)
    line += ", " + std::to_string(skipped) + " skipped";
  std::size_t tool_calls = 0, turns = 0;
  for (const auto& a : r.agents) {
    tool_calls += a.tool_calls.size();
    turns += static_cast<std::size_t>(a.turns);
  }
  if (tool_calls > 0) {
    line += " · " + std::to_string(turns) + " turns, " + std::to_string(tool_calls) + " tool calls";
  }
  line += times;
  if (r.agents.size() > 1) {  // a speedup of one agent says nothing
    char speedup[48];
    std::snprintf(speedup, sizeof speedup, " · speedup %.1fx", r.speedup());
    line += speedup;
  }
  line += " · " + std::to_string(r.total_tokens().total()) + " tokens] ";
  return line + text::for_terminal(model_description, false);
}

namespace {

std::string agent_list(const std::vector<std::size_t>& numbers) {
  std::string out = numbers.size() == 1 ? "agent " : "agents ";
  const std::size_t shown = std::min<std::size_t>(numbers.size(), 8);
  for (std::size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + std::to_string(numbers[i]);
  if (numbers.size() > shown) out += " and " + std::to_string(numbers.size() - shown) + " more";
  return out;
}

// One line: a provider's message may hold newlines.
std::string problem_of(const agent_report& a) {
  std::string p = a.error.message();
  if (!a.diag.message.empty()) p += ": " + a.diag.message;
  if (a.diag.http_status >= 300) p += " (HTTP " + std::to_string(a.diag.http_status) + ")";
  for (char& c : p) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return p;
}

}  // namespace

void print_problems(text_out& err, const boost::system::error_code& ec, const run_report& r,
                    bool interrupted) {
  if (r.decomposition_fallback) err.write_model_text("conclave: " + r.decomposition_note + "\n");
  if (!ec && r.degraded)
    err.write_model_text("conclave: degraded answer: " + r.synthesis_note + "\n");
  if (r.budget_exhausted) err.write("conclave: " + r.budget_note + "\n");
  for (const auto& c : r.conflicts) {
    std::vector<std::size_t> numbers;
    for (auto i : c.agents) numbers.push_back(i + 1);
    err.write_model_text("conclave: conflict: " + agent_list(numbers) + " wrote " + c.resource +
                         " (declare it \"exclusive\" in a plan to make them take turns)\n");
  }
  if (!ec) return;
  if (interrupted) {
    err.write("conclave: interrupted: " + std::to_string(r.count(agent_status::ok)) + " of " +
              std::to_string(r.agents.size()) + " agents had finished\n");
    return;
  }
  if (ec == error::auth_failed) {
    // Said once: every call would have been refused the same way.
    err.write_model_text("conclave: " + ec.message() +
                         (r.stop_note.empty() ? "" : ": " + r.stop_note) + "\n");
    return;
  }
  err.write_model_text("conclave: " + ec.message() +
                       (r.stop_note.empty() ? "" : ": " + r.stop_note) + "\n");
  std::map<std::string, std::vector<std::size_t>> by_problem;
  std::vector<const std::string*> order;  // first seen first
  for (const auto& a : r.agents) {
    if (has_answer(a.status) && !a.answer.empty()) continue;
    auto [it, fresh] = by_problem.try_emplace(problem_of(a));
    if (fresh) order.push_back(&it->first);
    it->second.push_back(a.index + 1);
  }
  for (const auto* problem : order) {
    err.write_model_text("  " + agent_list(by_problem[*problem]) + ": " + *problem + "\n");
  }
}

void print_decisions(text_out& out, const run_report& r, bool answered_only) {
  for (const auto& a : r.agents) {
    if (answered_only && !(has_answer(a.status) && !a.answer.empty())) continue;
    std::string head = to_string(a.status);
    if (!a.verdict.empty()) head += ", judged " + a.verdict;
    if (a.revisions > 0) head += ", revised";
    out.write("\n## Agent " + std::to_string(a.index + 1) + " (" + head + "): ");
    out.write_model_text(a.sub_question);
    out.write("\n");
    if (has_answer(a.status) && !a.answer.empty()) {
      if (a.status != agent_status::ok) {
        out.write("[partial: ");
        out.write_model_text(a.diag.message);
        out.write("] ");
      } else if (const char* mark = answer_mark(a.stop); *mark) {
        out.write(std::string("[") + mark + "] ");
      }
      out.write_model_text(a.answer);
    } else {
      out.write_model_text(problem_of(a));
    }
    out.write("\n");
  }
}

}  // namespace conclave::cli
