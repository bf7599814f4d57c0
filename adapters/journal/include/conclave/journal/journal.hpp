// The durable run journal: each run, what shaped it (its options, a given plan) and its steps,
// each written once when it completes, in a store (store.hpp): by default one SQLite file (WAL
// mode, below; journal::open), or Redis shared by several serve instances (conclave_redis). A run
// killed mid-way leaves every committed step behind; `conclave resume` and `serve` at start-up read
// them back (steps() in order, through from_json_line and report_fold) and run only the rest.
//
// The SQLite file's schema (version 1):
//   schema_version(version INTEGER NOT NULL)                    -- one row
//   runs(id TEXT PRIMARY KEY, kind, question, options_json, plan_json, status,
//        created_ms, updated_ms, report_json, owner)            -- kind/status CHECKed
//   steps(seq INTEGER PRIMARY KEY, run_id REFERENCES runs ON DELETE CASCADE, key, kind,
//         json, at_ms, UNIQUE(run_id, key))                     -- seq: the order written
//
// Blocking: every call is one short SQLite transaction (or the store's round trip) on the
// caller's thread (no fsync per
// commit in WAL with synchronous=NORMAL; a checkpoint syncs), waiting up to 5 s for another
// process's write lock. Thread safety: one connection behind the journal's own mutex; any
// thread may call any member. Errors: journal_error, naming the file and SQLite's message.
#pragma once

#include <conclave/engine/events.hpp>
#include <conclave/journal/store.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::journal {

/// Any failure of the journal: opening, a statement, a run that is not there, a closed journal.
class journal_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The schema this build writes; a journal with a newer one is refused by journal::open.
inline constexpr int schema_version = 1;

struct run_record {
  std::string id;                 ///< "run_" + 16 lowercase hex from begin_run, or the caller's
  std::string kind;               ///< "ask" | "run" (a given plan) | "task" (serve)
  std::string question;           ///< as asked
  std::string options_json;       ///< what shaped the run, canonical JSON (the caller's): compared
                                  ///< byte for byte on resume
  std::string plan_json;          ///< the given plan; empty: the run decomposes
  std::string status;             ///< "running" | "succeeded" | "failed" | "cancelled"
  std::int64_t created_ms = 0;    ///< unix ms, when begun
  std::int64_t updated_ms = 0;    ///< unix ms, when last begun, finished or reopened
  std::string report_json;        ///< the final report, set by finish_run; empty before
  std::string owner;              ///< free text: "cli", "serve:task_42"
  bool cancel_requested = false;  ///< a shared store's request_cancel was made (running runs)
  std::string queue;              ///< a shared store's queue it waits in; empty once claimed
};

/// Whether `id` has the shape begin_run gives: "run_" and 16 lowercase hex digits.
bool is_run_id(std::string_view id) noexcept;

class journal {
 public:
  using step = run_step;

  /// Opens `path`, creating it (mode 0600; a symbolic link or a non-regular file is refused;
  /// the directory must exist) and its schema. Sets WAL mode, synchronous=NORMAL, a 5 s busy
  /// timeout and foreign keys. Throws journal_error naming the path and the cause: not a
  /// database, a newer schema_version, WAL refused, the file unreadable.
  static std::shared_ptr<journal> open(const std::string& path);
  /// A journal over another store (Redis: redis::open_journal). Null `s`: std::invalid_argument.
  static std::shared_ptr<journal> over(std::unique_ptr<store> s);

  ~journal();
  journal(journal&&) noexcept;
  journal& operator=(journal&&) noexcept;
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  /// Where the runs are: the file's path, or the store's where().
  const std::string& path() const noexcept;

  /// Records a new run, status running, and returns its id ("run_" + 16 random hex).
  std::string begin_run(std::string_view kind, std::string_view question,
                        std::string_view options_json, std::string_view plan_json,
                        std::string_view owner = {});
  /// The same with the caller's id (not empty, at most 128 bytes); journal_error if a run
  /// with that id exists or `kind` is not ask/run/task.
  void begin_run_with_id(std::string_view id, std::string_view kind, std::string_view question,
                         std::string_view options_json, std::string_view plan_json,
                         std::string_view owner = {});

  /// Writes a step once: a second step with the same (run_id, key) is ignored. Returns
  /// whether it was new. journal_error for a run that is not in the journal.
  bool record_step(std::string_view run_id, std::string_view key, std::string_view kind,
                   std::string_view json);

  /// Ends a run: status "succeeded", "failed" or "cancelled", and the final report.
  /// journal_error for an unknown run or another status.
  void finish_run(std::string_view run_id, std::string_view status, std::string_view report_json);
  /// A resume starts: status back to running, the report cleared, the steps kept.
  void reopen_run(std::string_view run_id);

  std::optional<run_record> find(std::string_view run_id) const;
  /// The most recently begun run with this owner (serve's "serve:" + task id), if any.
  std::optional<run_record> find_by_owner(std::string_view owner) const;
  /// The run's steps in the order written (empty for an unknown run).
  std::vector<step> steps(std::string_view run_id) const;
  /// Runs still "running" (unfinished: killed, or running elsewhere now), oldest first.
  std::vector<run_record> unfinished() const;
  /// The `n` most recently begun runs, newest first.
  std::vector<run_record> recent(std::size_t n) const;
  /// Deletes finished runs (and their steps) last updated before `older_than_ms` (unix ms);
  /// running ones are kept whatever their age. Returns how many runs went.
  std::size_t prune_finished(std::int64_t older_than_ms);
  /// wal_checkpoint(TRUNCATE), at shutdown. False when readers kept part of the WAL (busy):
  /// nothing lost, it is checkpointed later.
  bool checkpoint();
  /// Closes the connection now; every later call throws journal_error. Idempotent.
  void close() noexcept;

  /// Holds, for a journal several processes share (store::shared): a run is held by the
  /// process running it (or keeping it queued) and renewed while it lives, so another takes it
  /// over only once the hold lapsed. On a journal for one process, hold is always true.
  /// request_cancel reaches a run held by another process through its next hold().
  /// finish_held_run is finish_run, refused (false, nothing written) while another holder's
  /// hold is live or once the run ended.
  bool shared() const noexcept;
  bool finish_held_run(std::string_view run_id, std::string_view status,
                       std::string_view report_json, std::string_view holder);
  hold_result hold(std::string_view run_id, std::string_view holder, std::chrono::milliseconds ttl);
  void release(std::string_view run_id, std::string_view holder);
  std::size_t note_takeover(std::string_view run_id);
  cancel_request request_cancel(std::string_view run_id);

  /// The store's queue (store.hpp; shared stores only): a new run queued in `queue`, its id
  /// and position, or none when `capacity` runs wait there already; then claim and position.
  struct queued_run {
    std::string id;
    std::size_t position = 0;
  };
  std::optional<queued_run> enqueue_run(std::string_view kind, std::string_view question,
                                        std::string_view options_json, std::string_view plan_json,
                                        std::string_view owner, std::string_view queue,
                                        int priority, std::size_t capacity);
  std::optional<run_record> claim_run(std::string_view queue, std::string_view holder,
                                      std::chrono::milliseconds ttl);
  std::optional<std::size_t> queue_position(std::string_view run_id, std::string_view queue) const;

 private:
  explicit journal(std::unique_ptr<store> s);
  std::unique_ptr<store> store_;
};

/// The key a step event is written under, or nothing for chatter (queued, started, progress,
/// tool calls, synthesis_started). Pure; keys depend only on the events from the run's start,
/// so a resume that replays its recorded events through it gets the same keys back.
///   decomposed                  "plan"
///   an agent's last event       "agent/<index>/<kind>/<revisions>"   (index from 0; the
///                               report's revisions: a verify revision ends the agent again,
///                               under a new key; the last one written is the one that holds)
///   judged                      "agent/<index>/judged/<revisions>"
///   retrying                    "attempt/<index>/<round>/<attempt>"  (round: the revision
///                               running, 0 first; attempts restart in a revision)
///   budget_exhausted            "budget_exhausted"
///   combined / finished         "combined" / "finished"
class step_keys {
 public:
  std::optional<std::string> key(const event& e);

 private:
  std::vector<int> round_;  // per agent: the revision now running
};

/// What a journal_observer did, shared with its caller and readable from any thread.
class observer_status {
 public:
  /// A write failed; the observer stopped writing.
  bool failed() const;
  /// The first write error (empty while none).
  std::string first_error() const;
  /// Steps written new, and steps already in the journal (ignored, e.g. replayed).
  std::size_t written() const;
  std::size_t ignored() const;

  void note(bool was_new);
  void fail(std::string why);

 private:
  mutable std::mutex m_;
  std::string error_;
  bool failed_ = false;
  std::size_t written_ = 0;
  std::size_t ignored_ = 0;
};

/// An observer that journals the run's steps (see step_keys) under `run_id`, which must have
/// been begun in `j`; the event is stored as to_json_line(e). It never throws: the first write
/// error goes to `status` (when given) and the run goes on. A step that fails is lost, and
/// later ones are still tried (a shared journal's outage passes), except after the plan
/// failed: then it writes nothing more (steps without their plan would replay against
/// another). Called on the run's strand like every observer; each step is one transaction.
/// The run's end (finish_run, with the report and status) is the caller's to write.
observer journal_observer(std::shared_ptr<journal> j, std::string run_id,
                          std::shared_ptr<observer_status> status = nullptr);

/// Reads an environment variable ("" when unset); the default reads the process's.
using env_lookup = std::function<std::string(const char*)>;

/// $XDG_STATE_HOME/conclave/journal.db, else $HOME/.local/state/conclave/journal.db (each
/// only when absolute, as the attempt log's rules). Missing directories below HOME (or the
/// XDG directory and above) are created 0700; a missing HOME is never created. Empty when
/// neither variable is usable or the directory cannot be made.
std::string default_journal_path(const env_lookup& env = {});

}  // namespace conclave::journal
