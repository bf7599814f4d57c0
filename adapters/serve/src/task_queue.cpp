// The task queue (task_queue.hpp); the request reader is task_request.ipp, included here.
#include "task_request.ipp"

#include <conclave/engine/json_text.hpp>
#include <conclave/serve/task_queue.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <random>
#include <stdexcept>

namespace json = boost::json;

namespace conclave::serve {

// ---- the queue ------------------------------------------------------------------------------

std::string_view to_string(task_state s) noexcept {
  switch (s) {
    case task_state::queued:
      return "queued";
    case task_state::running:
      return "running";
    case task_state::succeeded:
      return "succeeded";
    case task_state::failed:
      return "failed";
    case task_state::cancelled:
      return "cancelled";
    case task_state::expired:
      return "expired";
  }
  return "unknown";
}

std::string random_task_id() {
  static constexpr char hex[] = "0123456789abcdef";
  std::random_device rd;
  std::string id = "task_";
  for (int i = 0; i < 20; ++i) id += hex[rd() % 16];
  return id;
}

task_queue::task_queue(limits l, std::function<std::string()> make_id)
    : limits_(l), make_id_(make_id ? std::move(make_id) : random_task_id) {}

task_queue::entry* task_queue::lookup(std::string_view id) {
  auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : &it->second;
}

const task_record* task_queue::find(std::string_view id) const {
  auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : &it->second.record;
}

void task_queue::enqueue(entry& e) {
  e.record.state = task_state::queued;
  e.ticket = order_.push(e.record.id, e.record.spec.priority);
}

bool task_queue::timed_out(const entry& e, std::int64_t now_ms) const {
  const auto& t = e.record.spec.options.queue_timeout;
  return t && now_ms - e.record.created_ms >= t->count();
}

std::variant<std::string, request_error> task_queue::submit(task_spec spec, std::int64_t now_ms) {
  if (order_.size() >= limits_.capacity)
    return request_error{429,
                         "the task queue is full (" + std::to_string(limits_.capacity) +
                             " tasks queued); try again later",
                         "", "queue_full"};
  std::string id = make_id_();
  // A repeated id would overwrite a task: draw again (a working generator never repeats).
  for (int tries = 1; id.empty() || tasks_.count(id) != 0; ++tries) {
    if (tries == 16) throw std::runtime_error("task_queue: the id generator keeps repeating");
    id = make_id_();
  }
  entry& e = tasks_[id];
  e.record.id = std::move(id);
  e.record.spec = std::move(spec);
  e.record.created_ms = now_ms;
  enqueue(e);
  return e.record.id;
}

const task_record* task_queue::start_next(std::int64_t now_ms) {
  while (auto id = order_.pop()) {
    entry& e = *lookup(*id);
    if (timed_out(e, now_ms)) {
      end(e, task_state::expired, now_ms);
      continue;
    }
    e.record.state = task_state::running;
    e.record.started_ms = now_ms;
    e.record.progress.phase = e.record.spec.plan ? "agents" : "decomposing";
    ++running_;
    return &e.record;
  }
  return nullptr;
}

void task_queue::end(entry& e, task_state s, std::int64_t now_ms) {
  task_record& r = e.record;
  const bool was_running = r.state == task_state::running;
  if (was_running) --running_;
  r.state = s;
  r.finished_ms = now_ms;
  r.progress.phase = "finished";
  r.progress.running = 0;
  // Every ending but success says why, even when the worker gave no words.
  if (s != task_state::succeeded && r.error_code.empty()) {
    if (s == task_state::expired)
      r.error_code = was_running ? "deadline" : "queue_timeout";
    else
      r.error_code = s == task_state::cancelled ? "cancelled" : "failed";
  }
  if (s != task_state::succeeded && r.error_message.empty()) {
    if (s == task_state::expired)
      r.error_message =
          was_running ? "the run's deadline passed" : "not started within its queue_timeout_s";
    else if (s == task_state::cancelled)
      r.error_message = was_running ? "cancelled while running" : "cancelled before it started";
    else
      r.error_message = "the run failed";
  }
  finished_order_.push_back(r.id);
  while (finished_order_.size() > limits_.keep_finished) forget_oldest_finished();
}

void task_queue::forget_oldest_finished() {
  tasks_.erase(finished_order_.front());
  finished_order_.pop_front();
}

task_queue::cancel_result task_queue::cancel(std::string_view id, std::int64_t now_ms,
                                             std::string code, std::string message) {
  entry* e = lookup(id);
  if (!e) return cancel_result::unknown;
  switch (e->record.state) {
    case task_state::queued:
      order_.remove(e->ticket);
      if (!code.empty()) {
        e->record.error_code = std::move(code);
        e->record.error_message = std::move(message);
      }
      end(*e, task_state::cancelled, now_ms);  // may forget it at once when keep_finished is 0
      return cancel_result::removed;
    case task_state::running:
      e->record.cancel_requested = true;
      return cancel_result::cancel_running;
    default:
      return cancel_result::already_finished;
  }
}

bool task_queue::update_progress(std::string_view id, task_progress p) {
  entry* e = lookup(id);
  if (!e || e->record.state != task_state::running) return false;
  e->record.progress = std::move(p);
  return true;
}

bool task_queue::set_run_id(std::string_view id, std::string run_id) {
  entry* e = lookup(id);
  if (!e || e->record.state != task_state::running) return false;
  e->record.run_id = std::move(run_id);
  return true;
}

bool task_queue::finish(std::string_view id, task_state final_state, std::string result_json,
                        std::string error_code, std::string error_message, std::int64_t now_ms) {
  if (!is_finished(final_state))
    throw std::invalid_argument("task_queue::finish: not a final state");
  entry* e = lookup(id);
  if (!e || e->record.state != task_state::running) return false;
  e->record.result_json = std::move(result_json);
  e->record.error_code = std::move(error_code);
  e->record.error_message = std::move(error_message);
  end(*e, final_state, now_ms);
  return true;
}

std::size_t task_queue::expire(std::int64_t now_ms) {
  std::vector<std::pair<waiter_list<std::string>::id_type, std::string>> late;
  order_.for_each([&](auto ticket, int, const std::string& id) {
    if (timed_out(tasks_.find(id)->second, now_ms)) late.emplace_back(ticket, id);
  });
  for (auto& [ticket, id] : late) {
    order_.remove(ticket);
    end(*lookup(id), task_state::expired, now_ms);
  }
  // finished_order_ is in finishing order; with the caller's clock moving forward, that is
  // also finished_ms order, so the old ones are at the front.
  while (!finished_order_.empty()) {
    const entry* e = lookup(finished_order_.front());
    if (e && now_ms - e->record.finished_ms < limits_.result_ttl.count()) break;
    forget_oldest_finished();
  }
  return late.size();
}

std::optional<std::size_t> task_queue::position(std::string_view id) const {
  auto it = tasks_.find(id);
  if (it == tasks_.end() || it->second.record.state != task_state::queued) return std::nullopt;
  return order_.position(it->second.ticket);
}

bool task_queue::forget(std::string_view id) {
  auto it = tasks_.find(id);
  if (it == tasks_.end() || !is_finished(it->second.record.state)) return false;
  std::erase(finished_order_, it->first);
  tasks_.erase(it);
  return true;
}

bool task_queue::restore(task_record r, std::uint64_t next_event_id) {
  if (r.id.empty() || tasks_.count(r.id) != 0) return false;
  entry& e = tasks_[r.id];
  e.record = std::move(r);
  e.record.started_ms = e.record.finished_ms = 0;
  e.record.progress = {};
  e.record.error_code.clear();
  e.record.error_message.clear();
  e.record.result_json.clear();
  e.record.run_id.clear();
  e.record.cancel_requested = false;
  e.next_event_id = next_event_id == 0 ? 1 : next_event_id;
  enqueue(e);
  return true;
}

// ---- events ---------------------------------------------------------------------------------

std::uint64_t task_queue::append_event(std::string_view id, std::string json) {
  entry* e = lookup(id);
  if (!e || is_finished(e->record.state)) return 0;
  const std::uint64_t event_id = e->next_event_id++;
  if (json.size() > limits_.max_event_bytes_per_task) {
    // Kept, it would push out everything else and still break the cap: readers see a gap.
    e->events.clear();
    e->event_bytes = 0;
    return event_id;
  }
  e->event_bytes += json.size();
  e->events.emplace_back(event_id, std::move(json));
  while (e->events.size() > limits_.max_events_per_task ||
         e->event_bytes > limits_.max_event_bytes_per_task) {
    e->event_bytes -= e->events.front().second.size();
    e->events.pop_front();
  }
  return event_id;
}

task_queue::event_slice task_queue::events_after(std::string_view id,
                                                 std::uint64_t last_event_id) const {
  event_slice out;
  auto it = tasks_.find(id);
  if (it == tasks_.end()) {
    out.finished = true;
    return out;
  }
  const entry& e = it->second;
  out.finished = is_finished(e.record.state);
  const std::uint64_t first_kept = e.events.empty() ? e.next_event_id : e.events.front().first;
  if (last_event_id >= e.next_event_id) {
    // An id this log never gave (from before a restart): start the reader over, marked.
    out.gap = true;
    last_event_id = 0;
  } else {
    out.gap = last_event_id + 1 < first_kept;
  }
  for (const auto& ev : e.events)
    if (ev.first > last_event_id) out.events.push_back(ev);
  return out;
}

// ---- wire -----------------------------------------------------------------------------------

std::string status_json(const task_record& r, std::optional<std::size_t> position) {
  auto seconds = [](std::int64_t ms) { return ms ? json::value(ms / 1000) : json::value(); };
  auto text_or_null = [](const std::string& s) {
    return s.empty() ? json::value() : json::value(s);
  };
  json::object o;
  o["id"] = r.id;
  o["object"] = "task";
  o["state"] = to_string(r.state);
  o["priority"] = r.spec.priority;
  o["created_at"] = r.created_ms / 1000;
  o["started_at"] = seconds(r.started_ms);
  o["finished_at"] = seconds(r.finished_ms);
  o["position"] =
      position && r.state == task_state::queued ? json::value(*position) : json::value();
  o["progress"] = json::object{{"phase", r.progress.phase},
                               {"agents", r.progress.agents},
                               {"done", r.progress.done},
                               {"failed", r.progress.failed},
                               {"running", r.progress.running}};
  o["run_id"] = text_or_null(r.run_id);
  o["cancel_requested"] = r.cancel_requested;
  if (r.error_code.empty() && r.error_message.empty())
    o["error"] = nullptr;
  else
    o["error"] = json::object{{"code", r.error_code}, {"message", r.error_message}};
  o["metadata"] = text_or_null(r.spec.client_ref);
  return to_plain_json(o);
}

std::string sse_frame(std::uint64_t id, std::string_view event_name, std::string_view data) {
  std::string out;
  if (id != 0) out += "id: " + std::to_string(id) + "\n";
  if (!event_name.empty()) {
    out += "event: ";
    for (char c : event_name)
      if (c != '\n' && c != '\r') out += c;
    out += '\n';
  }
  // SSE ends a line at CRLF, LF or CR: each becomes its own data line.
  std::size_t start = 0;
  for (std::size_t i = 0; i <= data.size(); ++i) {
    if (i < data.size() && data[i] != '\n' && data[i] != '\r') continue;
    out += "data: ";
    out.append(data.substr(start, i - start));
    out += '\n';
    if (i + 1 < data.size() && data[i] == '\r' && data[i + 1] == '\n') ++i;
    start = i + 1;
  }
  out += '\n';
  return out;
}

std::optional<std::uint64_t> parse_last_event_id(std::string_view header) {
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!header.empty() && space(header.front())) header.remove_prefix(1);
  while (!header.empty() && space(header.back())) header.remove_suffix(1);
  if (header.empty() || header.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : header) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace conclave::serve
