// The task API's routes: submit, status, result, events, cancel. On a journal several
// instances share, a task another instance holds is answered from the journal.
#include "service_state.hpp"

#include <conclave/journal/journal.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace asio = boost::asio;
namespace json = boost::json;

namespace conclave::serve {
namespace {

asio::awaitable<void> refuse(http::exchange& ex, const request_error& e) {
  co_await ex.json(
      e.status,
      http::error_body(e.message, e.status == 429 ? "rate_limit_error" : "invalid_request_error",
                       e.code, e.param));
}

asio::awaitable<void> answer(http::exchange& ex, route_answer a) {
  co_await ex.json(a.status, std::move(a.body));
}

asio::awaitable<void> not_found(http::exchange& ex) {
  co_await ex.json(404, http::error_body("No task with id " + std::string(ex.param("id")),
                                         "invalid_request_error", "task_not_found", "id"));
}

}  // namespace

// The journal's record of a task: enough to rebuild its request after a restart.
std::string journal_options(const service::state& st, const task_record& r) {
  json::object o{{"fingerprint", st.opts.fingerprint},
                 {"task_id", r.id},
                 {"priority", r.spec.priority},
                 {"metadata", r.spec.client_ref}};
  json::error_code ec;
  json::value options = json::parse(r.spec.options_json, ec);
  o["options"] = ec ? json::value(json::object()) : options;
  return json::serialize(o);
}

namespace {

std::string event_name(std::string_view line) {
  const auto at = line.find("\"event\":\"");
  if (at == std::string_view::npos) return "event";
  const auto from = at + 9;
  return std::string(line.substr(from, line.find('"', from) - from));
}

// POST /v1/tasks into this instance's own queue, journaled at once (a queued task survives a
// restart too): 202, 429 when the queue is full, 503 when the server is stopping.
route_answer submit_here(service::state& st, task_spec spec) {
  std::lock_guard lock(st.mutex);
  if (st.stopping) {
    return {503,
            http::error_body("The server is stopping; submit again later.", "server_error",
                             "shutting_down"),
            ""};
  }
  auto sub = st.tasks.submit(std::move(spec), unix_ms());
  if (auto* e = std::get_if<request_error>(&sub))
    return {e->status, http::error_body(e->message, "rate_limit_error", e->code, e->param), ""};
  const std::string id = std::get<std::string>(sub);
  const task_record* r = st.tasks.find(id);
  if (st.opts.journal) {
    try {
      const std::string plan_json = r->spec.plan ? json::serialize(to_json(*r->spec.plan)) : "";
      st.extras[id].run_id = st.opts.journal->begin_run(
          "task", r->spec.question, journal_options(st, *r), plan_json, "serve:" + id);
    } catch (const std::exception& x) {
      st.log(std::string("conclave serve: journal: ") + x.what());
    }
  }
  return {202, status_json(*r, st.tasks.position(id)), id};
}

asio::awaitable<void> submit(std::shared_ptr<service::state> st, http::exchange& ex) {
  auto parsed = parse_task_request(ex.request().body());
  if (auto* e = std::get_if<request_error>(&parsed)) co_return co_await refuse(ex, *e);
  if (const auto& p = std::get<task_spec>(parsed).plan) {
    // A tool the server does not have is refused now, not when the task runs.
    for (const auto& s : p->subtasks) {
      if (!s.tools) continue;
      for (const auto& name : *s.tools) {
        const auto& have = st->opts.run_defaults.tools;
        if (std::none_of(have.begin(), have.end(),
                         [&](const auto& t) { return t && t->spec().name == name; })) {
          // Named first: GCC 12 miscompiles a temporary passed inside co_await.
          const request_error unknown_tool{
              400,
              "invalid plan: subtask " + s.id + " names tool \"" + name +
                  "\", which this server does not have (start it with --tool)",
              "plan", "invalid_plan"};
          co_return co_await refuse(ex, unknown_tool);
        }
      }
    }
  }
  bool stopping = false;
  {
    std::lock_guard lock(st->mutex);
    stopping = st->stopping;
  }
  // Into the queue every instance claims from (this one, if a worker is free), or this one's
  // own (which also says when the server is stopping).
  route_answer a = st->shared_journal() && !stopping
                       ? submit_shared(*st, std::get<task_spec>(std::move(parsed)))
                       : submit_here(*st, std::get<task_spec>(std::move(parsed)));
  if (a.status == 202) {
    http::header_list where{{"location", "/v1/tasks/" + a.task_id}};
    co_await ex.json(202, std::move(a.body), std::move(where));
    st->pump_queue();
    co_return;
  }
  if (a.status == 429) ex.add_header("retry-after", "5");
  co_await ex.json(a.status, std::move(a.body));
}

// A task this instance lost to another (taken over): the journal knows how it goes now.
bool taken_from_here(const service::state& st, const task_record& r) {
  return r.error_code == "taken_over" && st.shared_journal();
}

asio::awaitable<void> status(std::shared_ptr<service::state> st, http::exchange& ex) {
  std::string body;
  {
    std::lock_guard lock(st->mutex);
    if (const task_record* r = st->tasks.find(ex.param("id")); r && !taken_from_here(*st, *r)) {
      body = status_json(*r, st->tasks.position(r->id));
    }
  }
  bool unreachable = false;
  if (body.empty()) {
    if (auto r = task_elsewhere(*st, ex.param("id"), &unreachable))
      body = status_json(r->record, r->position);
  }
  if (body.empty() && unreachable) co_return co_await answer(ex, journal_unreachable());
  if (body.empty()) co_return co_await not_found(ex);
  co_await ex.json(200, std::move(body));
}

asio::awaitable<void> result(std::shared_ptr<service::state> st, http::exchange& ex) {
  std::optional<task_record> r;
  {
    std::lock_guard lock(st->mutex);
    if (const task_record* found = st->tasks.find(ex.param("id"))) r = *found;
  }
  bool unreachable = false;
  if (!r || taken_from_here(*st, *r)) {
    if (auto there = task_elsewhere(*st, ex.param("id"), &unreachable))
      r = std::move(there->record);
  }
  if (!r && unreachable) co_return co_await answer(ex, journal_unreachable());
  if (!r) co_return co_await not_found(ex);
  if (!is_finished(r->state)) {
    {
      co_await ex.json(
          409, http::error_body("Task " + r->id + " is " + std::string(to_string(r->state)) +
                                    "; its result is ready once it finishes (see its status or "
                                    "events).",
                                "invalid_request_error", "task_not_finished", "id"));
      co_return;
    }
  }
  json::object out{{"id", r->id}, {"object", "task.result"}, {"state", to_string(r->state)}};
  json::error_code ec;
  json::value report =
      r->result_json.empty() ? json::value(nullptr) : json::parse(r->result_json, ec);
  if (ec) report = nullptr;
  out["answer"] = report.is_object() && report.as_object().contains("answer")
                      ? report.as_object().at("answer")
                      : json::value(nullptr);
  out["report"] = std::move(report);
  out["error"] =
      r->error_code.empty()
          ? json::value(nullptr)
          : json::value(json::object{{"code", r->error_code}, {"message", r->error_message}});
  co_await ex.json(200, json::serialize(out));
}

asio::awaitable<void> events(std::shared_ptr<service::state> st, http::exchange& ex) {
  std::uint64_t after = 0;
  const auto header = ex.request()["last-event-id"];
  if (!header.empty()) after = parse_last_event_id(header).value_or(0);
  if (auto q = ex.query("after")) after = parse_last_event_id(*q).value_or(after);
  task_queue::event_slice slice;
  std::string last;
  auto stream = http::event_stream::create(co_await asio::this_coro::executor);
  const std::string id(ex.param("id"));
  {
    std::lock_guard lock(st->mutex);
    const task_record* r = st->tasks.find(id);
    if (!r) {
      stream.reset();
    } else {
      slice = st->tasks.events_after(id, after);
      if (is_finished(r->state)) {
        last = final_status_frame(*r);
      } else {
        st->watchers[id].push_back(stream);  // with the slice, under one lock: nothing missed
      }
    }
  }
  if (!stream) {
    bool unreachable = false;
    const auto found = task_elsewhere(*st, id, &unreachable);
    if (unreachable) co_return co_await answer(ex, journal_unreachable());
    if (!found) co_return co_await not_found(ex);
    const task_record* r = &found->record;
    if (!is_finished(r->state)) {
      co_await ex.json(409, http::error_body("Task " + id +
                                                 " is queued or runs on another instance "
                                                 "sharing this server's journal; its events "
                                                 "stream there (its status and result are "
                                                 "here too).",
                                             "invalid_request_error", "task_elsewhere", "id"));
      co_return;
    }
    // Ended elsewhere: its events went with that instance; its final status is here.
    if (co_await ex.start_stream() && co_await ex.write(final_status_frame(*r)))
      co_await ex.end_stream();
    co_return;
  }
  struct unsubscribe {
    service::state& st;
    const std::string& id;
    http::event_stream* s;
    ~unsubscribe() {
      std::lock_guard lock(st.mutex);
      auto w = st.watchers.find(id);
      if (w == st.watchers.end()) return;
      std::erase_if(w->second, [this](const auto& x) { return x.get() == s; });
      if (w->second.empty()) st.watchers.erase(w);
    }
  } forget{*st, id, stream.get()};
  if (!co_await ex.start_stream()) co_return;
  if (slice.gap &&
      !co_await ex.write(": some earlier events were dropped (the log is bounded)\n\n"))
    co_return;
  for (const auto& [n, line] : slice.events) {
    const std::string frame = sse_frame(n, event_name(line), line);
    if (!co_await ex.write(frame)) co_return;
  }
  if (!last.empty()) {
    if (co_await ex.write(last)) co_await ex.end_stream();
    co_return;
  }
  if (co_await stream->pump(ex)) co_await ex.end_stream();
}

asio::awaitable<void> cancel(std::shared_ptr<service::state> st, http::exchange& ex) {
  const std::string id(ex.param("id"));
  std::function<void()> stop;
  std::string body;
  task_queue::cancel_result how;
  {
    std::lock_guard lock(st->mutex);
    how = st->tasks.cancel(id, unix_ms());
    if (how == task_queue::cancel_result::cancel_running) {
      if (auto c = st->cancel_running.find(id); c != st->cancel_running.end()) stop = c->second;
    }
    if (const task_record* r = st->tasks.find(id)) body = status_json(*r, std::nullopt);
  }
  if (stop) stop();       // if the run has not registered yet, it sees cancel_requested itself
  st->settle_finished();  // a removed task's watchers and journal run end here
  if (how == task_queue::cancel_result::unknown) {
    // Another instance holds it, or it waits in the shared queue.
    if (auto a = cancel_elsewhere(*st, id)) co_return co_await answer(ex, std::move(*a));
  }
  switch (how) {
    case task_queue::cancel_result::unknown:
      co_return co_await not_found(ex);
    case task_queue::cancel_result::already_finished: {
      co_await ex.json(409, http::error_body("Task " + id + " already finished.",
                                             "invalid_request_error", "task_finished", "id"));
      co_return;
    }
    case task_queue::cancel_result::removed: {
      co_await ex.json(200, std::move(body));
      co_return;
    }
    case task_queue::cancel_result::cancel_running: {
      co_await ex.json(202, std::move(body));
      co_return;
    }
  }
}

}  // namespace

void add_task_routes(http::router& r, std::shared_ptr<service::state> st) {
  auto route = [&](std::string method, std::string path,
                   asio::awaitable<void> (*f)(std::shared_ptr<service::state>, http::exchange&)) {
    r.add(std::move(method), std::move(path),
          with_auth(st, [st, f](http::exchange& ex) { return f(st, ex); }));
  };
  route("POST", "/v1/tasks", &submit);
  route("GET", "/v1/tasks/{id}", &status);
  route("DELETE", "/v1/tasks/{id}", &cancel);
  route("GET", "/v1/tasks/{id}/result", &result);
  route("GET", "/v1/tasks/{id}/events", &events);
}

}  // namespace conclave::serve
