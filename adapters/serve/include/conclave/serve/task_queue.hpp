// The task queue of `conclave serve`: which submitted task runs next, what each task's state,
// progress and result are, and each task's bounded event log for SSE. Pure logic: no I/O, no
// clock (every time is the caller's unix milliseconds), no threads. Not thread-safe: one owner
// (the server's strand) calls it; the routes and the worker loop wrap it.
//
// Life of a task: queued -> running -> succeeded | failed | cancelled, or queued -> cancelled
// (DELETE) | expired (queue_timeout). Finished tasks are kept for GET until `result_ttl` passes
// or `keep_finished` newer ones push them out; then they are forgotten (404).
#pragma once

#include <conclave/engine/waiter_list.hpp>
#include <conclave/serve/task_request.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace conclave::serve {

enum class task_state { queued, running, succeeded, failed, cancelled, expired };

/// "queued", "running", "succeeded", "failed", "cancelled" or "expired".
std::string_view to_string(task_state s) noexcept;

/// succeeded, failed, cancelled or expired: nothing more will happen to the task.
constexpr bool is_finished(task_state s) noexcept {
  return s != task_state::queued && s != task_state::running;
}

/// How far a run got, as the worker reports it.
struct task_progress {
  std::size_t agents = 0;        ///< subtasks in the run (0 until decomposed)
  std::size_t done = 0;          ///< subtasks finished well
  std::size_t failed = 0;        ///< subtasks failed or skipped
  std::size_t running = 0;       ///< subtasks running now
  std::string phase = "queued";  ///< queued, decomposing, agents, combining, finished
};

struct task_record {
  std::string id;  ///< "task_" + 20 lowercase hex digits
  task_spec spec;
  task_state state = task_state::queued;
  std::int64_t created_ms = 0;   ///< unix ms of submit
  std::int64_t started_ms = 0;   ///< unix ms of start_next; 0 until it started
  std::int64_t finished_ms = 0;  ///< unix ms it finished; 0 until then
  task_progress progress;
  std::string error_code;         ///< empty unless failed, cancelled or expired
  std::string error_message;      ///< one line, for people
  std::string result_json;        ///< the report or answer, when finished
  std::string run_id;             ///< the journal's run id, once running
  bool cancel_requested = false;  ///< DELETE on a running task: the worker should cancel the run
};

/// A fresh task id: "task_" and 20 lowercase hex digits from std::random_device.
std::string random_task_id();

/// What a task_queue keeps, at most.
struct task_queue_limits {
  std::size_t capacity = 100;  ///< queued tasks at most (running ones don't count); 429 past it
  std::size_t keep_finished = 1000;  ///< finished tasks kept for GET, the oldest forgotten first
  std::chrono::milliseconds result_ttl{3'600'000};  ///< a finished task is forgotten after this
  std::size_t max_events_per_task = 5000;           ///< events kept per task, newest
  std::size_t max_event_bytes_per_task = 4 << 20;   ///< bytes of events kept per task, newest
};

/// The queue. Pointers it returns stay valid until the next call that changes the queue.
class task_queue {
 public:
  using limits = task_queue_limits;

  /// `make_id` gives new ids (tests inject a deterministic one); empty: random_task_id.
  explicit task_queue(limits l = {}, std::function<std::string()> make_id = {});

  /// Queues a task (the 202 path) and returns its id; or a 429 queue_full error when `capacity`
  /// tasks are queued already. Throws std::runtime_error if `make_id` gives 16 used ids in a row.
  std::variant<std::string, request_error> submit(task_spec spec, std::int64_t now_ms);

  /// The next task to run (highest priority, then first submitted), now running with
  /// started_ms = now and progress.phase "decomposing" ("agents" for a plan). Tasks whose
  /// queue_timeout has passed are expired on the way. Null when none is queued.
  const task_record* start_next(std::int64_t now_ms);

  enum class cancel_result { removed, cancel_running, already_finished, unknown };
  /// DELETE: a queued task leaves the queue and is cancelled (kept for GET); a running one gets
  /// cancel_requested (the caller cancels its run, then calls finish(..., cancelled, ...)).
  /// A queued task's error says `code` and `message` when given (else "cancelled").
  cancel_result cancel(std::string_view id, std::int64_t now_ms, std::string code = {},
                       std::string message = {});

  /// The worker's reports on a running task; false (and nothing done) when it is not running.
  bool update_progress(std::string_view id, task_progress p);
  bool set_run_id(std::string_view id, std::string run_id);

  /// A running task ended in `final_state` (succeeded, failed, cancelled or expired; else
  /// std::invalid_argument). progress.phase becomes "finished". An ending other than success
  /// with no error_code / error_message gets default words (code "cancelled", "failed" or, for
  /// expired, "deadline"). False when it is not running.
  bool finish(std::string_view id, task_state final_state, std::string result_json,
              std::string error_code, std::string error_message, std::int64_t now_ms);

  /// Upkeep, to call now and then: queued tasks past their queue_timeout expire, finished
  /// tasks older than result_ttl are forgotten. Returns how many tasks expired.
  /// (keep_finished is enforced at every finish, so memory stays bounded between calls:
  /// size() <= queued() + running() + keep_finished.)
  std::size_t expire(std::int64_t now_ms);

  /// The task, or null when unknown or forgotten.
  const task_record* find(std::string_view id) const;
  /// Tasks ahead of a queued one (0: it is next); none when it is not queued. Linear.
  std::optional<std::size_t> position(std::string_view id) const;
  std::size_t queued() const noexcept { return order_.size(); }
  std::size_t running() const noexcept { return running_; }
  std::size_t size() const noexcept { return tasks_.size(); }

  /// Serve restarting from its journal: `r` is queued again under its own id (state, start,
  /// progress, run id and cancel flag reset; created_ms kept, so queue_timeout still counts
  /// from the first submit), bypassing capacity. Its event ids continue from
  /// `next_event_id`, so a client's Last-Event-ID from before the restart still reads right.
  /// False (nothing done) when the id is already known or empty.
  bool restore(task_record r, std::uint64_t next_event_id = 1);

  /// Forgets a finished task at once (its record and events): false, nothing done, when it
  /// is unknown or not finished. (Serve taking back a task another instance took from it.)
  bool forget(std::string_view id);

  /// Appends one event (a JSON text) to a task's log and returns its id: 1, 2, 3... per task,
  /// the SSE `id:`. Older events beyond max_events_per_task or max_event_bytes_per_task are
  /// dropped; an event larger than the byte cap by itself takes an id but is not kept.
  /// 0 when the task is unknown or finished: append a task's last events before finish().
  std::uint64_t append_event(std::string_view id, std::string json);

  struct event_slice {
    std::vector<std::pair<std::uint64_t, std::string>> events;  ///< ids increasing
    /// Events the reader has not seen were dropped (or its last id is one this log never
    /// issued, e.g. from before a restart without next_event_id): it missed something.
    bool gap = false;
    bool finished = false;  ///< the task ended (or is unknown): no more events will come
  };
  /// The kept events with ids after `last_event_id` (0: from the start).
  event_slice events_after(std::string_view id, std::uint64_t last_event_id) const;

 private:
  struct entry {
    task_record record;
    waiter_list<std::string>::id_type ticket = 0;  ///< its place in order_ while queued
    std::deque<std::pair<std::uint64_t, std::string>> events;
    std::size_t event_bytes = 0;
    std::uint64_t next_event_id = 1;
  };
  entry* lookup(std::string_view id);
  void enqueue(entry& e);
  void end(entry& e, task_state s, std::int64_t now_ms);  ///< any finish; enforces keep_finished
  bool timed_out(const entry& e, std::int64_t now_ms) const;
  void forget_oldest_finished();

  limits limits_;
  std::function<std::string()> make_id_;
  std::map<std::string, entry, std::less<>> tasks_;
  waiter_list<std::string> order_;          ///< ids of queued tasks
  std::deque<std::string> finished_order_;  ///< ids of finished tasks, in the order they ended
  std::size_t running_ = 0;
};

/// GET /v1/tasks/{id}: {"id", "object": "task", "state", "priority", "created_at",
/// "started_at", "finished_at" (unix seconds, null until then), "position" (null unless
/// queued), "progress": {"phase", "agents", "done", "failed", "running"}, "run_id" (null until
/// set), "cancel_requested", "error": {"code", "message"} or null, "metadata" (null if none)}.
std::string status_json(const task_record& r, std::optional<std::size_t> position);

/// One SSE frame: "id: 7\nevent: x\ndata: ...\n\n". A `data` holding line breaks becomes one
/// `data:` line per line (readers join them back with "\n"); line breaks in `event_name` are
/// dropped. id 0 or an empty name leaves that line out.
std::string sse_frame(std::uint64_t id, std::string_view event_name, std::string_view data);

/// A Last-Event-ID header's value: decimal digits (spaces and tabs around are ignored) that
/// fit in 64 bits; anything else (empty, signs, garbage, overflow) is none.
std::optional<std::uint64_t> parse_last_event_id(std::string_view header);

}  // namespace conclave::serve
