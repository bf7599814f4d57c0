// The task API and its workers: submit into the bounded priority queue (journaled at once, so a
// restart keeps it), start queued tasks while workers are free, stream each task's events to
// its watchers (SSE, resumable), cancel, and resume the journal's unfinished tasks at start-up.
#include "service_state.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/json_text.hpp>
#include <conclave/engine/progress.hpp>
#include <conclave/journal/journal.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace asio = boost::asio;
namespace json = boost::json;
using boost::system::error_code;

namespace conclave::serve {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

ask_options options_for(const service_options& so, const task_spec& spec) {
  ask_options o = so.run_defaults;
  const task_options& t = spec.options;
  if (t.agents) o.agents = std::min(*t.agents, so.max_agents);
  o.max_agents = std::min(o.max_agents, so.max_agents);
  if (t.combine) o.combine = combine_mode_from(*t.combine).value_or(o.combine);
  if (t.verify) o.verify = *t.verify;
  if (t.verify_rounds) o.verify_rounds = *t.verify_rounds;
  if (t.deadline) {
    o.deadline = *t.deadline;
    o.agent_timeout = std::min(o.agent_timeout, o.deadline);
    o.synthesis_reserve = std::min(o.synthesis_reserve, o.deadline / 4);
  }
  if (t.model) o.model = *t.model;
  o.observers.clear();
  return o;
}

task_progress progress_of(const progress_map& m) {
  task_progress p;
  p.agents = m.agents().size();
  p.done = m.count(agent_state::completed);
  p.failed = m.count(agent_state::failed) + m.count(agent_state::timed_out) +
             m.count(agent_state::skipped) + m.count(agent_state::stopped);
  p.running = m.count(agent_state::running);
  switch (m.phase()) {
    case run_phase::decomposing:
      p.phase = "decomposing";
      break;
    case run_phase::running:
      p.phase = "agents";
      break;
    case run_phase::synthesizing:
      p.phase = "combining";
      break;
    case run_phase::finished:
      p.phase = "finished";
      break;
  }
  return p;
}

// Appends an event to the task's log and sends it to the task's watchers (under the lock, so a
// watcher that subscribed after reading the log misses nothing and sees nothing twice).
void publish(service::state& st, std::string_view id, std::string_view name, std::string line) {
  std::lock_guard lock(st.mutex);
  const std::uint64_t n = st.tasks.append_event(id, line);
  if (n == 0) return;
  auto w = st.watchers.find(id);
  if (w == st.watchers.end()) return;
  const std::string frame = sse_frame(n, name, line);
  for (auto& stream : w->second) stream->push(frame);
}

}  // namespace

std::string final_status_frame(const task_record& r) {
  return "event: status\ndata: " + status_json(r, std::nullopt) + "\n\n";
}

namespace {

asio::awaitable<void> run_task(std::shared_ptr<service::state> st, std::string id, task_spec spec,
                               service::state::task_extra extra) {
  auto cancel = std::make_shared<asio::cancellation_signal>();
  const auto self = co_await asio::this_coro::executor;
  {
    std::lock_guard lock(st->mutex);
    st->cancel_running[id] = [self, cancel] {
      asio::post(self, [cancel] { cancel->emit(asio::cancellation_type::terminal); });
    };
    if (!extra.run_id.empty()) st->tasks.set_run_id(id, extra.run_id);
    if (st->tasks.find(id) && st->tasks.find(id)->cancel_requested) {
      asio::post(self, [cancel] { cancel->emit(asio::cancellation_type::terminal); });
    }
  }
  ask_options o = options_for(st->opts, spec);
  o.replay = extra.replay;
  auto journal_status = std::make_shared<journal::observer_status>();
  if (st->opts.journal && !extra.run_id.empty()) {
    o.observers.push_back(
        journal::journal_observer(st->opts.journal, extra.run_id, journal_status));
  }
  o.observers.push_back([st, id](const event& e, const progress_map& m) {
    {
      std::lock_guard lock(st->mutex);
      st->tasks.update_progress(id, progress_of(m));
    }
    if (e.kind == event_kind::progress) return;  // streamed text: too many for the task's log
    std::string line = to_json_line(e);
    const auto at = line.find("\"event\":\"");
    std::string name = "event";
    if (at != std::string::npos) {
      const auto from = at + 9;
      name = line.substr(from, line.find('"', from) - from);
    }
    publish(*st, id, name, std::move(line));
  });

  error_code ec;
  run_report report;
  if (spec.plan) {
    plan p = *spec.plan;
    if (spec.options.combine) p.combine = o.combine;
    if (spec.options.verify) p.verify = o.verify;
    if (spec.options.verify_rounds) p.verify_rounds = o.verify_rounds;
    std::tie(ec, report) =
        co_await async_run_plan(st->eng, std::move(p), std::move(o),
                                asio::bind_cancellation_slot(cancel->slot(), use_tuple));
  } else {
    std::string question = spec.question;
    std::tie(ec, report) =
        co_await async_ask(st->eng, std::move(question), std::move(o),
                           asio::bind_cancellation_slot(cancel->slot(), use_tuple));
  }

  const std::string result = to_plain_json(to_json(report));  // decimals, as --json
  bool by_shutdown = false, taken_over = false;
  {
    std::lock_guard lock(st->mutex);
    const task_record* r = st->tasks.find(id);
    taken_over = st->lost_holds.count(id) > 0;
    by_shutdown = ec == error::cancelled && st->shutting_down_runs &&
                  !(r && r->cancel_requested);  // a client's DELETE stays a cancel
  }
  task_state final_state = task_state::succeeded;
  std::string code, message;
  if (taken_over) {
    final_state = task_state::cancelled;
    code = "taken_over";
    message = taken_over_words;
  } else if (ec == error::cancelled) {
    final_state = task_state::cancelled;
    code = by_shutdown ? "shutdown" : "cancelled";
    message = by_shutdown ? "the server stopped; the task resumes at its next start"
                          : "cancelled by a client";
  } else if (ec) {
    final_state = task_state::failed;
    code = error_id(ec);
    message = ec.message() + (report.stop_note.empty() ? "" : ": " + report.stop_note);
  }
  // A run the server cut short stays unfinished in the journal: the next start (or another
  // instance on a shared journal) resumes it. One taken over is the other instance's to end.
  st->end_journal_run(id, extra.run_id, by_shutdown ? "" : std::string(to_string(final_state)),
                      result);
  if (journal_status->failed()) {
    st->log("conclave serve: journal writes failed for " + id + ": " +
            journal_status->first_error());
  }
  std::vector<std::shared_ptr<http::event_stream>> watchers;
  {
    std::lock_guard lock(st->mutex);
    st->tasks.finish(id, final_state, result, code, message, unix_ms());
    if (auto w = st->watchers.find(id); w != st->watchers.end()) {
      watchers = std::move(w->second);
      st->watchers.erase(w);
    }
    st->cancel_running.erase(id);
    st->extras.erase(id);
    --st->running_tasks;
  }
  std::string last;
  {
    std::lock_guard lock(st->mutex);
    if (const task_record* r = st->tasks.find(id)) last = final_status_frame(*r);
  }
  for (auto& w : watchers) {
    if (!last.empty()) w->push(last);
    w->finish();
  }
  st->pump_queue();
}

}  // namespace

void service::state::settle_finished() {
  struct ended {
    std::vector<std::shared_ptr<http::event_stream>> streams;
    std::string last;
  };
  std::vector<ended> watchers_done;
  struct journal_end {
    std::string task, run, status;
  };
  std::vector<journal_end> journal_done;
  {
    std::lock_guard lock(mutex);
    for (auto it = watchers.begin(); it != watchers.end();) {
      const task_record* r = tasks.find(it->first);
      if (r && (!is_finished(r->state) || cancel_running.count(it->first))) {
        ++it;
        continue;
      }
      watchers_done.push_back({std::move(it->second), r ? final_status_frame(*r) : ""});
      it = watchers.erase(it);
    }
    for (auto it = extras.begin(); it != extras.end();) {
      const task_record* r = tasks.find(it->first);
      if (r && (!is_finished(r->state) || cancel_running.count(it->first))) {
        ++it;
        continue;
      }
      if (!it->second.run_id.empty()) {
        journal_done.push_back({it->first, it->second.run_id,
                                r && r->state == task_state::expired ? "failed" : "cancelled"});
      }
      it = extras.erase(it);
    }
  }
  for (auto& w : watchers_done) {
    for (auto& s : w.streams) {
      if (!w.last.empty()) s->push(w.last);
      s->finish();
    }
  }
  for (const auto& j : journal_done) end_journal_run(j.task, j.run, j.status, "");
}

void service::state::pump_queue() {
  claim_shared();  // a shared journal's queue first: its tasks into this one while workers are free
  struct start {
    std::string id;
    task_spec spec;
    task_extra extra;
  };
  std::vector<start> starts;
  {
    std::lock_guard lock(mutex);
    while (!stopping && running_tasks < opts.workers) {
      const task_record* r = tasks.start_next(unix_ms());
      if (!r) break;
      ++running_tasks;
      task_extra extra;
      if (auto e = extras.find(r->id); e != extras.end()) extra = e->second;
      starts.push_back({r->id, r->spec, std::move(extra)});
    }
  }
  settle_finished();  // start_next may have expired some on the way
  for (auto& s : starts) {
    asio::co_spawn(asio::make_strand(ex), run_task(shared_from_this(), s.id, s.spec, s.extra),
                   [st = shared_from_this(), id = s.id](std::exception_ptr e) {
                     if (!e) return;
                     std::string what = "unknown error";
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& x) {
                       what = x.what();
                     } catch (...) {
                     }
                     // A bug, not a run's failure: the task says so and its worker is freed.
                     st->log("conclave serve: task " + id + " failed: " + what);
                     {
                       std::lock_guard lock(st->mutex);
                       st->tasks.finish(id, task_state::failed, "", "internal_error", what,
                                        unix_ms());
                       // Counted down once: run_task does it with the same erase.
                       if (st->cancel_running.erase(id) > 0) --st->running_tasks;
                     }
                     st->settle_finished();
                     st->pump_queue();
                   });
  }
}

}  // namespace conclave::serve
