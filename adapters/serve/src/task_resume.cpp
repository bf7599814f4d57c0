// Journaled tasks made this instance's: the unfinished ones at start-up, and on a journal
// several instances share, each beat, those whose instance stopped holding them (takeover),
// and those it claims from the shared queue.
#include "service_state.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace json = boost::json;

namespace conclave::serve {

bool service::state::adopt_run(const journal::run_record& rec, const std::string& task_id,
                               bool shared, bool claimed) {
  auto refuse_run = [&](const std::string& why) {
    log("conclave serve: not resuming task " + task_id + " (" + rec.id + "): " + why);
    try {
      opts.journal->finish_run(rec.id, "failed", "");
    } catch (const std::exception&) {
    }
    release_hold(rec.id);
    std::lock_guard lock(mutex);
    ++refused_resume;
    return false;
  };
  json::error_code ec;
  json::value recorded = json::parse(rec.options_json, ec);
  if (ec || !recorded.is_object()) return refuse_run("its options in the journal are not JSON");
  const json::object& o = recorded.as_object();
  const auto* fp = o.if_contains("fingerprint");
  if (!fp || !fp->is_string() || fp->as_string() != opts.fingerprint) {
    if (!shared) return refuse_run("its options changed since it began (provider or models)");
    // Another instance with the same providers and models may resume it: left alone.
    log("conclave serve: leaving task " + task_id + " (" + rec.id +
        ") to an instance with its providers and models (this one's differ)");
    release_hold(rec.id);
    std::lock_guard lock(mutex);
    if (passed_over.size() >= 10'000) passed_over.clear();  // bounded: said again, at worst
    passed_over.insert(rec.id);
    return false;
  }
  json::object request{{"priority", o.contains("priority") ? o.at("priority") : json::value(5)}};
  if (const auto* opt = o.if_contains("options");
      opt && opt->is_object() && !opt->as_object().empty())
    request["options"] = *opt;
  if (const auto* m = o.if_contains("metadata"); m && m->is_string() && !m->as_string().empty())
    request["metadata"] = *m;
  if (!rec.plan_json.empty()) {
    request["plan"] = json::parse(rec.plan_json, ec);
  } else {
    request["question"] = rec.question;
  }
  auto parsed = ec ? std::variant<task_spec, request_error>(request_error{400, "plan", "", ""})
                   : parse_task_request(json::serialize(request));
  if (auto* e = std::get_if<request_error>(&parsed))
    return refuse_run("its request no longer reads: " + e->message);
  std::vector<std::string> lines;
  try {
    for (auto& s : opts.journal->steps(rec.id)) lines.push_back(std::move(s.json));
  } catch (const std::exception& x) {
    // Unread, not unreadable (the journal is unreachable): left for a later beat or start.
    log("conclave serve: cannot read task " + task_id + "'s steps now: " + x.what());
    release_hold(rec.id);
    return false;
  }
  std::string why;
  auto replay = read_recorded_run(lines, why);
  if (!replay) return refuse_run(why);
  task_record r;
  r.id = task_id;
  r.spec = std::get<task_spec>(std::move(parsed));
  // A resumed task's queue_timeout counts from the restart, not the crash; a claimed one's
  // from its submit (it waited in the shared queue).
  r.created_ms = claimed ? rec.created_ms : unix_ms();
  const std::size_t finished = replay->finished.size();
  {
    std::lock_guard lock(mutex);
    if (tasks.restore(std::move(r))) {
      extras[task_id] = {rec.id, std::make_shared<const recorded_run>(std::move(*replay))};
      if (!claimed) {
        ++resumed;
        log("conclave serve: resuming task " + task_id + " (" + rec.id +
            "): " + std::to_string(finished) + " agents recorded as finished");
      }
      return true;
    }
  }
  release_hold(rec.id);  // not run here: another instance may
  return false;
}

void service::state::resume_journaled() {
  std::vector<journal::run_record> unfinished;
  try {
    unfinished = opts.journal->unfinished();
  } catch (const std::exception& x) {
    log(std::string("conclave serve: journal: ") + x.what());
    return;
  }
  const bool shared = shared_journal();
  for (const auto& rec : unfinished) {
    if (!rec.owner.starts_with("serve:task_")) continue;  // a CLI run: `conclave resume` has it
    if (!rec.queue.empty()) continue;  // waiting in the shared queue: a claim takes it
    const std::string task_id = rec.owner.substr(6);
    {
      std::lock_guard lock(mutex);
      if (const task_record* here = tasks.find(task_id);
          here && here->error_code == "taken_over" && !extras.count(task_id)) {
        // Another instance took it from this one, and now holds it no more (it died too):
        // this one may take it back.
        tasks.forget(task_id);
      }
      if (tasks.find(task_id) || extras.count(task_id) || passed_over.count(rec.id)) continue;
      // Takeover fills this instance's queue to its capacity, no further: the rest is left to
      // the other instances (at start-up on a journal of its own, everything is taken back).
      if (shared && tasks.queued() >= opts.queue.capacity) return;
    }
    journal::hold_result held = journal::hold_result::held;
    try {
      // On a shared journal, a run another live instance holds is its own (always held on a
      // journal for one process).
      held = opts.journal->hold(rec.id, opts.instance, opts.takeover_after);
    } catch (const std::exception& x) {
      log(std::string("conclave serve: journal: ") + x.what());
      return;
    }
    if (held == journal::hold_result::held_by_another ||
        held == journal::hold_result::not_running || held == journal::hold_result::queued)
      continue;  // alive elsewhere, ended since the list was read, or waiting to be claimed
    if (held == journal::hold_result::cancel_requested) {
      // Cancelled by a client while its instance was gone: ended, not resumed.
      end_journal_run(task_id, rec.id, "cancelled", "");
      log("conclave serve: task " + task_id + " (" + rec.id + ") was cancelled; not resuming it");
      continue;
    }
    if (shared) {
      // A task whose instance died under it twice may be what kills them: taken over once,
      // then failed, rather than passed from instance to instance.
      std::size_t times = 0;
      try {
        times = opts.journal->note_takeover(rec.id);
      } catch (const std::exception& x) {
        log(std::string("conclave serve: journal: ") + x.what());
        release_hold(rec.id);
        return;
      }
      if (times >= 2) {
        log("conclave serve: not resuming task " + task_id + " (" + rec.id +
            "): its instance stopped answering while running it twice");
        end_journal_run(task_id, rec.id, "failed", "");
        std::lock_guard lock(mutex);
        ++refused_resume;
        continue;
      }
    }
    adopt_run(rec, task_id, shared, false);
  }
}

}  // namespace conclave::serve
