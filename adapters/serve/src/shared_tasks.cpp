// Tasks on a journal several instances share: submitted into the shared queue, claimed from
// it, and a task another instance holds (or that waits in the queue) read from the journal
// and cancelled there, so any instance answers for any task (behind a load balancer, a
// client's next call may land anywhere).
#include "service_state.hpp"

#include <conclave/engine/json_text.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace json = boost::json;

namespace conclave::serve {
namespace {

task_state state_of(const std::string& status) {
  if (status == "succeeded") return task_state::succeeded;
  if (status == "failed") return task_state::failed;
  if (status == "cancelled") return task_state::cancelled;
  return task_state::running;
}

}  // namespace

std::optional<remote_task> task_elsewhere(const service::state& st, std::string_view id,
                                          bool* unreachable) {
  if (!st.shared_journal() || !id.starts_with("task_") || id.size() > 64) return std::nullopt;
  std::optional<journal::run_record> run;
  try {
    run = st.opts.journal->find_by_owner("serve:" + std::string(id));
  } catch (const std::exception& x) {
    st.log(std::string("conclave serve: journal: ") + x.what());
    if (unreachable) *unreachable = true;
    return std::nullopt;
  }
  if (!run || run->kind != "task") return std::nullopt;
  task_record r;
  r.id = std::string(id);
  r.state = state_of(run->status);
  r.created_ms = run->created_ms;
  r.run_id = run->id;
  r.cancel_requested = run->cancel_requested;
  r.result_json = run->report_json;
  json::error_code ec;
  const json::value options = json::parse(run->options_json, ec);
  if (!ec && options.is_object()) {
    const json::object& o = options.as_object();
    if (const auto* p = o.if_contains("priority"); p && p->is_int64())
      r.spec.priority = static_cast<int>(p->as_int64());
    if (const auto* m = o.if_contains("metadata"); m && m->is_string())
      r.spec.client_ref = std::string(m->as_string());
  }
  std::optional<std::size_t> position;
  if (r.state == task_state::running) {
    try {
      if (!run->queue.empty()) position = st.opts.journal->queue_position(run->id, run->queue);
    } catch (const std::exception& x) {
      st.log(std::string("conclave serve: journal: ") + x.what());
    }
  }
  if (position) {
    r.state = task_state::queued;
    r.progress.phase = "queued";
  } else if (is_finished(r.state)) {
    r.finished_ms = run->updated_ms;
    r.progress.phase = "finished";
    if (r.state != task_state::succeeded) {
      r.error_code = r.state == task_state::failed ? "failed" : "cancelled";
      r.error_message =
          run->report_json.empty() ? "ended before it had a report" : "see the report";
    }
  } else {
    r.progress.phase = "elsewhere";  // its progress and events are with the instance running it
  }
  return remote_task{std::move(r), position};
}

route_answer journal_unreachable() {
  return {503,
          http::error_body("The shared journal (Redis) cannot be reached just now; try again.",
                           "server_error", "journal_unavailable"),
          ""};
}

route_answer submit_shared(service::state& st, task_spec spec) {
  task_record r;
  r.id = random_task_id();
  r.spec = std::move(spec);
  r.created_ms = unix_ms();
  const std::string plan_json = r.spec.plan ? json::serialize(to_json(*r.spec.plan)) : "";
  std::optional<journal::journal::queued_run> queued;
  try {
    queued = st.opts.journal->enqueue_run("task", r.spec.question, journal_options(st, r),
                                          plan_json, "serve:" + r.id, st.shared_queue,
                                          r.spec.priority, st.opts.queue.capacity);
  } catch (const std::exception& x) {
    st.log(std::string("conclave serve: journal: ") + x.what());
    return journal_unreachable();
  }
  if (!queued) {
    return {429,
            http::error_body("the shared task queue is full (" +
                                 std::to_string(st.opts.queue.capacity) +
                                 " tasks queued); try again later",
                             "rate_limit_error", "queue_full"),
            ""};
  }
  r.run_id = queued->id;
  return {202, status_json(r, queued->position), r.id};
}

void service::state::claim_shared() {
  if (!shared_journal()) return;
  for (;;) {
    {
      // A place is reserved before the claim: pumps on several threads never claim more
      // than the free workers.
      std::lock_guard lock(mutex);
      if (stopping || running_tasks + tasks.queued() + claiming >= opts.workers) return;
      ++claiming;
    }
    std::optional<journal::run_record> rec;
    std::string failure;
    try {
      rec = opts.journal->claim_run(shared_queue, opts.instance, opts.takeover_after);
    } catch (const std::exception& x) {
      failure = x.what();
    }
    bool say = false;
    {
      std::lock_guard lock(mutex);
      --claiming;
      // Said once while it lasts: claims are tried every claim_interval.
      say = !failure.empty() && claim_error != failure;
      claim_error = failure;
    }
    if (say) log("conclave serve: journal: " + failure);
    if (!failure.empty() || !rec) return;
    if (!rec->owner.starts_with("serve:task_")) {
      release_hold(rec->id);  // not a task (only serve queues runs): left alone
      continue;
    }
    adopt_run(*rec, rec->owner.substr(6), true, true);
  }
}

std::optional<route_answer> cancel_elsewhere(service::state& st, std::string_view id) {
  bool unreachable = false;
  auto found = task_elsewhere(st, id, &unreachable);
  if (unreachable) return journal_unreachable();
  if (!found) return std::nullopt;
  task_record& r = found->record;
  if (is_finished(r.state)) {
    return route_answer{409,
                        http::error_body("Task " + r.id + " already finished.",
                                         "invalid_request_error", "task_finished", "id"),
                        ""};
  }
  journal::cancel_request how = journal::cancel_request::none;
  try {
    how = st.opts.journal->request_cancel(r.run_id);
  } catch (const std::exception& x) {
    st.log(std::string("conclave serve: journal: ") + x.what());
    return journal_unreachable();
  }
  switch (how) {
    case journal::cancel_request::dequeued:  // never claimed: ended now
      r.state = task_state::cancelled;
      r.progress.phase = "finished";
      r.finished_ms = unix_ms();
      r.error_code = "cancelled";
      r.error_message = "cancelled by a client";
      return route_answer{200, status_json(r, std::nullopt), ""};
    case journal::cancel_request::flagged:  // its holder cancels it at its next renewal
      r.cancel_requested = true;
      return route_answer{202, status_json(r, std::nullopt), ""};
    case journal::cancel_request::none:
      break;
  }
  return route_answer{409,
                      http::error_body("Task " + r.id + " already finished.",
                                       "invalid_request_error", "task_finished", "id"),
                      ""};
}

}  // namespace conclave::serve
