// What the service's routes, workers and run loop share. The mutex guards the task queue, the
// maps and the counters; it is held for a few instructions, never across a suspension, so
// handlers on connection strands, runs on their own strands and the run loop can all use it.
#pragma once

#include <conclave/engine/run_replay.hpp>
#include <conclave/journal/journal.hpp>
#include <conclave/serve/service.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

namespace conclave::serve {

struct service::state : std::enable_shared_from_this<state> {
  state(boost::asio::any_io_executor e, engine& en, service_options o)
      : ex(std::move(e)),
        loop(boost::asio::make_strand(ex)),
        eng(en),
        opts(std::move(o)),
        tasks(opts.queue),
        tick(loop) {}

  boost::asio::any_io_executor ex;
  boost::asio::any_io_executor loop;  // a strand: the run loop and its timer
  engine& eng;
  service_options opts;
  std::unique_ptr<http::server> server;

  mutable std::mutex mutex;  // guards everything below
  task_queue tasks;
  /// A task's journal run and what it replays when resumed.
  struct task_extra {
    std::string run_id;
    std::shared_ptr<const recorded_run> replay;
  };
  std::map<std::string, task_extra, std::less<>> extras;
  /// How to cancel each running task (posts to its strand).
  std::map<std::string, std::function<void()>, std::less<>> cancel_running;
  std::map<std::string, std::vector<std::shared_ptr<http::event_stream>>, std::less<>> watchers;
  std::size_t running_tasks = 0;
  std::size_t chat_runs = 0;
  std::size_t resumed = 0, refused_resume = 0, holds_lost = 0;
  /// Tasks whose hold another instance took: their journal run is that instance's to finish.
  std::set<std::string, std::less<>> lost_holds;
  /// Runs of a shared journal this instance cannot resume (another fingerprint): left to
  /// others, and said once.
  std::set<std::string, std::less<>> passed_over;
  /// Runs whose end could not be written (a shared journal): held, and written at each beat.
  struct pending_end {
    std::string task, status, report;
  };
  std::map<std::string, pending_end, std::less<>> pending_ends;
  /// On a shared journal: the queue this instance's tasks wait in, shared with instances of
  /// the same providers and models (a hash of the fingerprint).
  std::string shared_queue;
  std::string claim_error;   // the last claim's failure, said once
  std::size_t claiming = 0;  // claims in flight (each holds a worker's place)
  std::string renew_error;   // the last beat's renewal failure, said once
  bool stopping = false;
  bool shutting_down_runs = false;  // past the grace: runs cancelled by shutdown, not by users

  boost::asio::steady_timer tick;  // upkeep; cancelled by stop()
  std::atomic<bool> stop_requested{false};

  void log(const std::string& line) const {
    if (opts.log) opts.log(line);
  }
  /// Starts queued tasks while workers are free (any thread).
  void pump_queue();
  /// Ends what a task that finished without running leaves behind (cancelled while queued,
  /// expired): its watchers get the final status and close, its journal run is finished.
  void settle_finished();
  /// Re-queues the journal's unfinished tasks: at start-up, and on a shared journal each tick
  /// those whose hold lapsed (takeover).
  void resume_journaled();
  /// A journaled task, held by this instance, into its queue: its request rebuilt from the
  /// journal, its recorded steps to replay. False when it cannot be (said, and the run ended
  /// as failed when it never will be; left for later when the journal could not be read).
  /// `claimed`: taken from the shared queue (its queue_timeout counts from its submit).
  bool adopt_run(const journal::run_record& rec, const std::string& task_id, bool shared,
                 bool claimed);
  /// On a shared journal, while workers are free: the next runs of this instance's shared
  /// queue, claimed into its own. Called by pump_queue.
  void claim_shared();
  /// On a shared journal: renews this instance's holds; a task whose hold another instance
  /// took is cancelled here (its run goes on there).
  void renew_holds();
  /// Gives up this instance's hold on a run (a shared journal), so another may take it now.
  void release_hold(const std::string& run_id);
  void retry_pending_ends();
  bool shared_journal() const { return opts.journal && opts.journal->shared(); }
  /// A task's journal run ended here: finished with `status` (empty: left unfinished) unless
  /// its hold was lost, and released. On a shared journal an end that cannot be written stays
  /// held and is written at a later beat. Journal errors are logged.
  void end_journal_run(const std::string& task_id, const std::string& run_id,
                       const std::string& status, const std::string& report);
  /// The upkeep tick: queue expiry, the host's hook.
  void upkeep();
};

/// Registers the routes (chat_routes.cpp, task_routes.cpp) over `st`.
void add_model_routes(http::router& r, std::shared_ptr<service::state> st);
void add_task_routes(http::router& r, std::shared_ptr<service::state> st);

/// A route behind the bearer-key check (401 with an OpenAI error body when keys are set).
http::handler with_auth(std::shared_ptr<service::state> st, http::handler h);

/// The frame a task's event stream ends with: its final status (no id: not in the log).
std::string final_status_frame(const task_record& r);

/// On a journal several instances share: task `id` as the journal has it (another instance
/// holds it, or held it until it ended), phase "elsewhere" while it runs there. None when the
/// journal is not shared or does not know the task (or cannot be read: logged).
/// An answer decided off the wire: status, JSON body, and a new task's id (202).
struct route_answer {
  unsigned status = 200;
  std::string body;
  std::string task_id;
};

struct remote_task {
  task_record record;
  std::optional<std::size_t> position;  ///< waiting in the shared queue: tasks ahead
};
/// `unreachable` (when given) is set when the journal could not be read: not "unknown".
std::optional<remote_task> task_elsewhere(const service::state& st, std::string_view id,
                                          bool* unreachable = nullptr);
/// 503 journal_unavailable: the shared journal cannot say (a task is not unknown for that).
route_answer journal_unreachable();

/// POST /v1/tasks on a shared journal: written and queued there (202), or refused (429 when
/// the shared queue holds its capacity, 503 when the journal cannot be reached).
route_answer submit_shared(service::state& st, task_spec spec);
/// DELETE /v1/tasks/{id} for a task this instance does not have: dequeued and ended (200),
/// flagged for the instance running it (202), already finished (409), the journal unreachable
/// (503); none when the journal does not know it.
std::optional<route_answer> cancel_elsewhere(service::state& st, std::string_view id);
/// The journal's record of a task (what a resume rebuilds its request from).
std::string journal_options(const service::state& st, const task_record& r);

/// What a task whose hold another instance took says, here.
inline constexpr const char* taken_over_words =
    "another instance sharing the journal took this task over and runs it";

/// Unix time now, in milliseconds.
std::int64_t unix_ms();
/// "prefix" + 24 lowercase hex, random.
std::string random_id(std::string_view prefix);

}  // namespace conclave::serve
