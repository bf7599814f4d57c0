// `conclave serve` as a library: heavy mode behind HTTP. One object owns the HTTP server, the
// task queue and its workers, the journal's resumption and the upkeep timer; a host runs it on
// its own io_context with async_run (Asio style, as Boost.MySQL's connection_pool) and stops it
// with stop() (stop accepting, let runs finish within a grace period, then cancel them, flush
// the journal). Routes:
//   GET  /v1/models, /v1/models/{id}          conclave-heavy and conclave-heavy-N
//   POST /v1/chat/completions, /v1/responses   heavy mode as a model (streamed or not)
//   POST /v1/tasks, GET /v1/tasks/{id}, GET /v1/tasks/{id}/result,
//   GET  /v1/tasks/{id}/events (SSE, Last-Event-ID), DELETE /v1/tasks/{id}
//   GET  /healthz                              no key needed; says "ok" or "stopping"
#pragma once

#include <conclave/engine/ask.hpp>
#include <conclave/http/server.hpp>
#include <conclave/serve/openai_compat.hpp>
#include <conclave/serve/task_queue.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace conclave::journal {
class journal;
}

namespace conclave::serve {

struct service_options {
  http::server_options http;  ///< where to listen (127.0.0.1:8080 by the CLI), limits
  /// Bearer keys clients must send (compared in constant time; never logged). Empty: no key
  /// is asked for, and listen() refuses any address but loopback.
  std::vector<std::string> api_keys;
  std::size_t workers = 4;  ///< tasks running at once
  task_queue_limits queue;  ///< capacity (100), finished tasks kept, events per task
  /// Every run's options before a request's own (models, timeouts, retries, limits, tools).
  ask_options run_defaults;
  int max_agents = 20;  ///< conclave-heavy-N up to this
  /// A chat or responses run's deadline: under the SDKs' 600 s default timeout.
  std::chrono::milliseconds chat_deadline = default_run_deadline;
  std::size_t max_chat_runs = 64;  ///< chat and responses runs at once; more get 429
  reasoning_style reasoning = reasoning_style::fields;  ///< when a request does not say
  /// Tasks are journaled here (null: none): submitted, each step, finished; unfinished ones are
  /// resumed at start-up, finished agents replayed rather than paid for again.
  std::shared_ptr<journal::journal> journal;
  /// What a journaled task's options must match to be resumed (provider, models; never keys).
  std::string fingerprint;
  /// On a journal several instances share (journal::shared(): Redis), each queued or running
  /// task's run is held by the instance that has it, renewed every takeover_after / 3; a run
  /// whose hold lapsed (its instance died) is taken over by another instance, which resumes
  /// it from its recorded steps. An instance that finds its hold taken cancels its own run.
  /// Ignored on a journal for one process (resumed at start-up only).
  std::chrono::milliseconds takeover_after{30'000};
  std::string instance;  ///< this instance's name in holds; empty: "serve-" + random hex
  /// On a shared journal, submitted tasks wait in a queue every instance of the same
  /// providers and models claims from (priority, then order; `queue.capacity` for all of
  /// them). An instance with a free worker claims at once, and an idle one looks this often.
  std::chrono::milliseconds claim_interval{100};
  std::chrono::milliseconds upkeep_interval{30'000};
  /// Called on each upkeep tick (the host's: limiter and breaker expiry, idle connections).
  std::function<void()> upkeep;
  std::chrono::milliseconds shutdown_grace{10'000};  ///< runs may finish in this after stop()
  std::function<void(const std::string&)> log;       ///< one line each; null: quiet
};

struct service_stats {
  std::size_t queued = 0, running_tasks = 0, chat_runs = 0, resumed = 0, refused_resume = 0;
  std::size_t holds_lost = 0;  ///< runs another instance took over from this one
  http::server_stats http;
};

class service {
 public:
  /// `eng` (and the models it references) must outlive the service.
  service(boost::asio::any_io_executor ex, engine& eng, service_options opts);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  /// Binds (port() known on return). Throws std::invalid_argument for a non-loopback address
  /// without keys, boost::system::system_error when the address cannot be bound.
  void listen();
  std::uint16_t port() const noexcept;
  std::string origin() const;  ///< "http://127.0.0.1:PORT"

  using run_signature = void(boost::system::error_code);
  /// Serves until stop() (or the token's cancellation, which stops the same way): resumes the
  /// journal's unfinished tasks, runs queued tasks on `workers`, ticks upkeep. Completes once
  /// every run ended (or was cancelled after the grace period) and the journal is flushed.
  template <typename CompletionToken>
  auto async_run(CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, run_signature>(
        [this](auto handler) {
          start_run(boost::asio::any_completion_handler<run_signature>(std::move(handler)));
        },
        token);
  }

  /// Graceful stop, from any thread: no new connections or tasks; queued tasks stay queued (in
  /// the journal, for the next start); running ones get shutdown_grace, then are cancelled.
  void stop();
  service_stats stats() const;

  struct state;  ///< internal (the routes' shared state), named here so they can reach it

 private:
  void start_run(boost::asio::any_completion_handler<run_signature> handler);
  std::shared_ptr<state> st_;
};

/// Whether `given` ("Bearer KEY") names one of `keys`, in time independent of where it differs.
bool bearer_matches(std::string_view authorization, const std::vector<std::string>& keys);

}  // namespace conclave::serve
