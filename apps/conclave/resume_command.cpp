#include "resume_command.hpp"

#include "ask_command.hpp"
#include "output.hpp"
#include "run_journal.hpp"

#include <conclave/engine/json_text.hpp>
#include <conclave/engine/run_replay.hpp>
#include <conclave/engine/text.hpp>

#include <boost/json/parse.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <signal.h>
#include <unistd.h>

namespace json = boost::json;

namespace conclave::cli {
namespace {

// Runs a resume can take up: every one that did not succeed, newest first. ("running" ones
// were killed, or run elsewhere now: see still_running.)
std::vector<journal::run_record> resumable(const journal::journal& j) {
  std::vector<journal::run_record> out;
  for (auto& r : j.recent(200)) {
    if (r.status != "succeeded" && r.kind != "task") out.push_back(std::move(r));
  }
  return out;
}

std::string age(std::int64_t since_ms) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const std::int64_t s = std::max<std::int64_t>(0, (now - since_ms) / 1000);
  if (s < 120) return std::to_string(s) + " s ago";
  if (s < 7200) return std::to_string(s / 60) + " min ago";
  if (s < 2 * 86400) return std::to_string(s / 3600) + " h ago";
  return std::to_string(s / 86400) + " days ago";
}

// `conclave resume` with no run: the unfinished ones, one line each.
int list_runs(const journal::journal& j) {
  const auto runs = resumable(j);
  if (runs.empty()) {
    std::cerr << "conclave: no unfinished runs in " << j.path() << "\n";
    return 0;
  }
  text_out out(stdout, isatty(STDOUT_FILENO));
  for (const auto& r : runs) {
    std::string question = r.question;
    for (char& c : question) c = (c == '\n' || c == '\t') ? ' ' : c;
    out.write(r.id + "  " + age(r.updated_ms) + "  " + r.status + "  ");
    out.write_model_text(text::quote(question, 60) + "\n");
  }
  out.flush();
  std::cerr << "conclave: resume one with: " << resume_command(j.path(), "RUN_ID") << "\n";
  return out.failed() ? 1 : 0;
}

// A run that succeeded: its answer (or the whole report, --json), nothing run again.
int print_finished(const journal::run_record& r, const ask_settings& s) {
  std::cerr << "conclave: run " << r.id << " already finished (" << r.status
            << "): its answer, from the journal\n";
  text_out out(stdout, isatty(STDOUT_FILENO));
  if (s.json) {
    out.write(r.report_json + "\n");
  } else {
    boost::system::error_code ec;
    const json::value report = json::parse(r.report_json, ec);
    const json::value* answer =
        ec || !report.is_object() ? nullptr : report.get_object().if_contains("answer");
    if (answer && answer->is_string()) out.write_model_text(std::string(answer->get_string()));
    if (!out.at_line_start()) out.write("\n");
  }
  out.flush();
  return out.failed() ? 1 : 0;
}

// A "running" run whose process ("cli:PID") is alive and is this program: resuming it beside
// itself would write the same steps twice.
bool still_running(const journal::run_record& r) {
  if (r.status != "running" || !r.owner.starts_with("cli:")) return false;
  const pid_t pid = static_cast<pid_t>(std::atoll(r.owner.c_str() + 4));
  if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) != 0) return false;
  std::error_code e1, e2;
  const auto theirs = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", e1);
  const auto ours = std::filesystem::read_symlink("/proc/self/exe", e2);
  return !e1 && !e2 && theirs == ours;
}

// The settings the run began with: recorded options over the config, environment and resume's
// own flags (which only say how to show it). Throws usage_error.
void rebuild(const journal::run_record& r, ask_settings& s) {
  boost::system::error_code ec;
  const json::value recorded = json::parse(r.options_json, ec);
  if (ec || !recorded.is_object()) throw usage_error("the journal's options are not a JSON object");
  apply_run_options(recorded.get_object(), s);
  s.question = r.question;
  if (r.kind == "run") {
    auto parsed = parse_plan(r.plan_json);
    if (!parsed.value) throw usage_error("the journal's plan is corrupt: " + parsed.error);
    s.plan_to_run = std::move(parsed.value);
  }
  validate(s);
  check_save_path(s.save_path);
}

// "3 agents replayed from the journal, 2 to run".
std::string replay_summary(const recorded_run& rec, const ask_settings& s) {
  const plan* p = s.plan_to_run ? &*s.plan_to_run : rec.plan_ran ? &*rec.plan_ran : nullptr;
  if (!p) return "nothing was recorded past its start: it runs from the beginning";
  std::size_t replayed = 0;
  for (const auto& t : p->subtasks) replayed += rec.finished.count(t.id);
  const std::size_t n = p->subtasks.size();
  return std::to_string(replayed) + (replayed == 1 ? " agent" : " agents") +
         " replayed from the journal, " + std::to_string(n - replayed) + " to run";
}

}  // namespace

int run_resume(ask_settings& s, const resume_options& o, const standard_fds& fds) {
  const std::string path = journal_path(s);
  if (path.empty()) {
    std::cerr << "conclave: no journal: set XDG_STATE_HOME or HOME, or give --journal FILE\n";
    return 2;
  }
  const bool listing = o.run_id.empty() && !o.last;
  if (!std::filesystem::exists(path)) {  // never create a journal only to find it empty
    std::cerr << "conclave: no runs journaled in " << path << "\n";
    return listing ? 0 : 2;
  }
  try {
    auto j = journal::journal::open(path);
    if (listing) return list_runs(*j);
    std::string id = o.run_id;
    if (o.last) {
      const auto runs = resumable(*j);
      if (runs.empty()) {
        std::cerr << "conclave: no unfinished run in " << path << "\n";
        return 2;
      }
      id = runs.front().id;
    }
    const auto run = j->find(id);
    if (!run) {
      std::cerr << "conclave: no run '" << text::for_terminal(text::quote(id, 40), false) << "' in "
                << path << " (`conclave resume` lists the unfinished ones)\n";
      return 2;
    }
    if (run->status == "succeeded") return print_finished(*run, s);
    if (run->kind == "task") {
      std::cerr << "conclave: run " << id << " is a conclave serve task: serve resumes it\n";
      return 2;
    }
    if (still_running(*run)) {
      std::cerr << "conclave: run " << id << " is still running (" << run->owner << ")\n";
      return 2;
    }
    try {
      rebuild(*run, s);
    } catch (const usage_error& e) {
      std::cerr << "conclave: cannot resume " << id << ": " << e.what() << "\n";
      return 2;
    }
    boost::system::error_code ec;
    const json::value was = json::parse(run->options_json, ec);
    const auto changes = options_changes(was.get_object(), run_options(s));
    if (!changes.empty()) {
      std::string list;
      for (const auto& c : changes) list += (list.empty() ? "" : "; ") + c;
      std::cerr << "conclave: cannot resume " << id
                << ": options changed since the run began: " << list
                << "\n(resume it with the environment and config it began with)\n";
      return 2;
    }
    std::vector<std::string> lines;
    for (auto& step : j->steps(id)) lines.push_back(std::move(step.json));
    std::string why;
    auto rec = read_recorded_run(lines, why);
    if (!rec) {
      std::cerr << "conclave: cannot resume " << id << ": its journal is corrupt: " << why << "\n";
      return 2;
    }
    j->reopen_run(id);
    if (!s.quiet)
      std::cerr << "conclave: resumed " << id << ": " << replay_summary(*rec, s) << "\n";
    resume_point at{run_journal::resumed(j, id),
                    std::make_shared<const recorded_run>(std::move(*rec))};
    return run_ask(s, fds, &at);
  } catch (const journal::journal_error& e) {
    std::cerr << "conclave: journal: " << e.what() << "\n";
    return 2;
  } catch (const usage_error& e) {  // the run's providers cannot be built as configured now
    std::cerr << "conclave: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "conclave: internal error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace conclave::cli
