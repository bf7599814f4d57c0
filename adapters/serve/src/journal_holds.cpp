// A shared journal's holds, as serve keeps them: renewed each beat, an end that could not be
// written kept and written later, a hold found taken (or its run ended elsewhere) stopping the
// run here, a cancel asked for elsewhere cancelling it here.
#include "service_state.hpp"

namespace conclave::serve {

void service::state::release_hold(const std::string& run_id) {
  if (!shared_journal() || run_id.empty()) return;
  try {
    opts.journal->release(run_id, opts.instance);
  } catch (const std::exception& x) {
    // Harmless: the hold lapses by itself after takeover_after.
    log(std::string("conclave serve: journal: cannot release a hold: ") + x.what());
  }
}

void service::state::end_journal_run(const std::string& task_id, const std::string& run_id,
                                     const std::string& status, const std::string& report) {
  if (!opts.journal || run_id.empty()) return;
  {
    std::lock_guard lock(mutex);
    if (lost_holds.erase(task_id) > 0) return;  // the instance that took it over ends it
  }
  if (status.empty()) {  // left unfinished (a stop): another instance may take it now
    release_hold(run_id);
    return;
  }
  if (!shared_journal()) {
    try {
      opts.journal->finish_run(run_id, status, report);
    } catch (const std::exception& x) {
      log(std::string("conclave serve: journal: ") + x.what());
    }
    return;
  }
  try {
    if (!opts.journal->finish_held_run(run_id, status, report, opts.instance)) {
      log("conclave serve: task " + task_id +
          " was taken over by another instance before it ended here; its end is that one's");
      return;
    }
  } catch (const std::exception& x) {
    // Still held (renewed each beat) until the end is written: released now, another
    // instance would run the task again.
    log("conclave serve: journal: cannot write the end of task " + task_id +
        " (tried again each beat): " + x.what());
    std::lock_guard lock(mutex);
    pending_ends[run_id] = {task_id, status, report};
    return;
  }
  release_hold(run_id);
}

void service::state::retry_pending_ends() {
  std::map<std::string, pending_end, std::less<>> pending;
  {
    std::lock_guard lock(mutex);
    pending.swap(pending_ends);
  }
  bool reachable = true;
  for (auto& [run, end] : pending) {
    try {
      if (!reachable) throw journal::journal_error("not tried");
      const auto found = opts.journal->hold(run, opts.instance, opts.takeover_after);
      if (found == journal::hold_result::held || found == journal::hold_result::cancel_requested) {
        if (opts.journal->finish_held_run(run, end.status, end.report, opts.instance))
          release_hold(run);
      }
      // Otherwise it ended, or another instance holds it: its end is not ours to write.
    } catch (const std::exception&) {
      reachable = false;
      std::lock_guard lock(mutex);
      pending_ends.emplace(run, std::move(end));
    }
  }
}

void service::state::renew_holds() {
  if (!shared_journal()) return;
  retry_pending_ends();
  std::vector<std::pair<std::string, std::string>> held;  // (task id, run id)
  {
    std::lock_guard lock(mutex);
    for (const auto& [id, extra] : extras) {
      if (!extra.run_id.empty() && !lost_holds.count(id)) held.emplace_back(id, extra.run_id);
    }
  }
  std::size_t unrenewed = 0;
  std::string first_error;
  for (const auto& [task, run] : held) {
    journal::hold_result found = journal::hold_result::held;
    try {
      // After one failure in a beat the rest are not tried: each would wait out its own
      // connect and command timeouts while the server's thread waits with it.
      if (unrenewed > 0) throw journal::journal_error(first_error);
      found = opts.journal->hold(run, opts.instance, opts.takeover_after);
    } catch (const std::exception& x) {
      if (unrenewed++ == 0) first_error = x.what();
      // Unreachable is not taken: the run goes on. An instance that could reach the journal
      // may take it meanwhile (a partition); the next renewal that gets through says so and
      // stops it here, and the fence on the run's end keeps one end.
      continue;
    }
    if (found == journal::hold_result::held) continue;
    const bool lost = found != journal::hold_result::cancel_requested;
    log("conclave serve: task " + task +
        (lost ? " was taken over by another instance (this one's hold lapsed); stopping it here"
              : " cancelled through another instance"));
    std::function<void()> stop_run;
    {
      std::lock_guard lock(mutex);
      if (lost) {
        lost_holds.insert(task);
        ++holds_lost;
      }
      // A DELETE made elsewhere ends here as one made here: cancelled, journaled as such.
      const auto how = lost ? tasks.cancel(task, unix_ms(), "taken_over", taken_over_words)
                            : tasks.cancel(task, unix_ms());
      if (how == task_queue::cancel_result::cancel_running) {
        if (auto c = cancel_running.find(task); c != cancel_running.end()) stop_run = c->second;
      }
    }
    if (stop_run) stop_run();
  }
  // Said when it starts and when it ends, not at every beat.
  if (unrenewed > 0 && renew_error != first_error) {
    log("conclave serve: journal: cannot renew holds (runs go on; tried every beat): " +
        first_error);
  }
  if (unrenewed == 0 && !renew_error.empty()) log("conclave serve: journal: reachable again");
  renew_error = unrenewed > 0 ? first_error : "";
  settle_finished();
}

}  // namespace conclave::serve
