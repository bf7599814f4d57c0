// Where a journal keeps its runs and steps. `journal` checks what it is given (kinds, statuses,
// ids) and draws run ids; a store only reads and writes. Two stores exist: SQLite, one file for
// one process (journal::open), and Redis, shared by several `conclave serve` instances
// (conclave_redis: redis::open_journal). A host may bring its own.
//
// Contract for every member: blocking, on the caller's thread, thread-safe, and short (one
// transaction or round trip). Failures throw journal_error naming where() and the cause.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::journal {

struct run_record;

/// One step of a run, as written.
struct run_step {
  std::string key;         ///< unique within the run ("plan", "agent/0/completed/0", ...)
  std::string kind;        ///< the event's name ("decomposed", "completed", "retrying", ...)
  std::string json;        ///< to_json_line() of the event
  std::int64_t at_ms = 0;  ///< unix ms, when written
};

/// What an attempt to hold a run found.
enum class hold_result {
  held,              ///< the caller holds the run now (taken or extended)
  held_by_another,   ///< another holder's hold has not expired
  cancel_requested,  ///< held by the caller, and someone asked for the run to be cancelled
  not_running,       ///< the run is gone or ended: nothing to hold (never on a one-process store)
  queued,            ///< the run waits in a queue for a process to claim it: not held
};

/// What a request to cancel a run did.
enum class cancel_request {
  none,      ///< the run is not running (or the store is for one process)
  flagged,   ///< its holder hears at its next hold() (cancel_requested)
  dequeued,  ///< it was queued, never claimed: it left the queue and ended cancelled
};

class store {
 public:
  virtual ~store() = default;

  /// Where the runs are, for messages: a file's path, a Redis URL without its password.
  virtual const std::string& where() const noexcept = 0;

  /// Writes a new run (status "running"); false, and nothing written, when its id is taken.
  virtual bool insert_run(const run_record& r) = 0;
  /// Writes a step once: false when the run has a step with this key. journal_error (saying
  /// "no run") for an unknown run.
  virtual bool insert_step(std::string_view run_id, const run_step& s) = 0;
  /// Sets a run's status, report and updated_ms; false for an unknown run.
  virtual bool update_run(std::string_view run_id, std::string_view status,
                          std::string_view report_json, std::int64_t at_ms) = 0;

  enum class update_result { updated, no_run, held_by_another };
  /// update_run, refused (nothing written) while another holder's hold is live: a process
  /// that lost its hold cannot overwrite the run's end.
  virtual update_result update_held_run(std::string_view run_id, std::string_view status,
                                        std::string_view report_json, std::int64_t at_ms,
                                        std::string_view /*holder*/) {
    return update_run(run_id, status, report_json, at_ms) ? update_result::updated
                                                          : update_result::no_run;
  }

  virtual std::optional<run_record> find(std::string_view run_id) const = 0;
  /// The most recently begun run with this owner ("serve:task_…"), if any.
  virtual std::optional<run_record> find_by_owner(std::string_view owner) const = 0;
  /// In the order written; empty for an unknown run.
  virtual std::vector<run_step> steps(std::string_view run_id) const = 0;
  /// Runs with status "running", oldest first.
  virtual std::vector<run_record> unfinished() const = 0;
  /// The `n` most recently begun runs, newest first.
  virtual std::vector<run_record> recent(std::size_t n) const = 0;
  /// Deletes finished runs last updated before `older_than_ms`; how many went.
  virtual std::size_t prune_finished(std::int64_t older_than_ms) = 0;
  /// Makes what was written durable now (SQLite: a WAL checkpoint); false when it must wait.
  virtual bool checkpoint() = 0;
  /// Every later call throws journal_error. Idempotent.
  virtual void close() noexcept = 0;

  /// Whether several processes share this store, so a run must be held by one at a time.
  virtual bool shared() const noexcept { return false; }
  /// Takes or extends `holder`'s hold on a run for `ttl`, unless another holder's hold has
  /// not expired. A store for one process holds nothing and always says held.
  virtual hold_result hold(std::string_view /*run_id*/, std::string_view /*holder*/,
                           std::chrono::milliseconds /*ttl*/) {
    return hold_result::held;
  }
  /// Gives up `holder`'s hold on a run at once (another holder's is left alone); a running
  /// run so handed over is not counted by the next note_takeover.
  virtual void release(std::string_view /*run_id*/, std::string_view /*holder*/) {}
  /// A process took over a run whose hold lapsed (its holder died): how many times that has
  /// happened to the run, this one included. A run handed over by release() is not counted
  /// (the count stays). 0 on a store for one process.
  virtual std::size_t note_takeover(std::string_view /*run_id*/) { return 0; }
  /// Asks whoever holds a running run to cancel it (its next hold() says cancel_requested);
  /// a queued one is taken out of its queue and ended at once.
  virtual cancel_request request_cancel(std::string_view /*run_id*/) {
    return cancel_request::none;
  }

  /// Queues for a store several processes share: runs no process holds yet, waiting for the
  /// first of them to claim one. Each named queue (processes that can run the same runs
  /// share one) serves higher `priority` first, then the order queued. A store for one
  /// process has no queue: enqueue_run throws journal_error there.
  ///
  /// Writes a new run (as insert_run) and queues it: its position (0: next), or none, and
  /// nothing written, when `capacity` runs wait in that queue already. journal_error when
  /// the id is taken.
  virtual std::optional<std::size_t> enqueue_run(const run_record& r, std::string_view queue,
                                                 int priority, std::size_t capacity);
  /// The next run of the queue, out of it and held by `holder` for `ttl`; none when empty.
  virtual std::optional<run_record> claim_run(std::string_view queue, std::string_view holder,
                                              std::chrono::milliseconds ttl);
  /// A queued run's position in its queue (0: next); none when it is not queued there.
  virtual std::optional<std::size_t> queue_position(std::string_view run_id,
                                                    std::string_view queue) const;
};

}  // namespace conclave::journal
