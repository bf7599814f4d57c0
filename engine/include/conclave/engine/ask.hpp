// The ask pipeline as a plan: decompose a question into subtasks (a list, or a plan with
// dependencies and exclusive resources), run each as an isolated agent as soon as what it depends
// on is done, under deadlines and a concurrency cap, and combine their decisions into one answer
// (synthesize, vote or select; optionally verified first). async_run_plan runs a given plan.
#pragma once

#include <conclave/engine/agent_machine.hpp>
#include <conclave/engine/budget.hpp>
#include <conclave/engine/events.hpp>
#include <conclave/engine/model.hpp>
#include <conclave/engine/plan.hpp>
#include <conclave/engine/report.hpp>
#include <conclave/engine/retry.hpp>
#include <conclave/engine/run_replay.hpp>
#include <conclave/engine/tool.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace conclave {

struct ask_options {
  /// Sub-questions to ask for; 1 skips decomposition; 0: the decomposer chooses how many,
  /// within [1, max_agents] (1 for a simple fact, a few for a comparison, more for research).
  int agents = 0;
  int max_agents = 10;       ///< the most the decomposer may choose (at most max_dynamic_agents)
  int max_concurrency = 16;  ///< agents running at once; the others wait their turn
  /// Per agent, counted from when it is ready (its dependencies done), waiting for a slot or an
  /// exclusive resource included: k subtasks sharing one resource need k turns of it in time.
  std::chrono::milliseconds agent_timeout{120'000};
  std::chrono::milliseconds deadline{300'000};  ///< the whole run, decomposition to answer
  std::chrono::milliseconds synthesis_reserve{
      30'000};  ///< kept back from `deadline` for synthesis:
                ///< agents still running then are stopped
  /// The decomposition call's own limit (retries included); when it passes, one agent takes
  /// the whole question. 0: a quarter of `deadline`, at most 60 s.
  std::chrono::milliseconds decomposition_timeout{0};
  std::size_t max_decision_chars = 4000;  ///< each decision is cut to this for synthesis
  /// Model reference for every call ("provider:model" through a router_model, or a plain
  /// name); empty: each model's default.
  std::string model;
  std::string decomposition_model;  ///< for the decomposition call; empty: `model`
  std::string synthesis_model;      ///< for the synthesis call; empty: `model`
  /// Agent i (from 0) starts on agent_models[i % size()], so the agents take them in turn;
  /// empty: `model`. An empty entry means `model` too. `fallback_models` follow either way.
  std::vector<std::string> agent_models;
  std::optional<int>
      max_output_tokens;  ///< per reply (the request's max_tokens); unset: the provider's
  std::optional<double> temperature;  ///< sampling temperature of every call; unset: the provider's
  bool stream_synthesis = true;       ///< stream the synthesis call: its text arrives as run-level
                                      ///< `progress` events (no agent index) while it is written
  bool stream = true;                 ///< stream agent replies (progress events carry the text)
  std::string agent_instructions;     ///< extra system text every agent shares (a user's --system)
  retry_options retry;  ///< per agent call; the run also shares one retry budget across agents
  retry_budget_options retry_budget;  ///< that shared budget: how many failures it absorbs
  /// Model names an agent moves to, in order, when its model fails for good (retries spent,
  /// circuit open, a non-retryable error) with time left; never once its stream was shown.
  std::vector<std::string> fallback_models;
  budget_options budget;            ///< the run's token and cost cap; none by default
  std::uint64_t random_seed = 0;    ///< backoff jitter; 0: seeded from the system
  std::vector<observer> observers;  ///< see events.hpp; called on the run's strand, in order
  /// Tools the agents may call (host tools, MCP servers' tools, built-ins); names must be
  /// unique and fit `^[a-zA-Z0-9_-]{1,64}$`. With tools, an agent is a loop of turns under
  /// `limits`; without, one call. Decomposition and synthesis never see tools.
  std::vector<std::shared_ptr<tool>> tools;
  /// Which tools agent `index` (from 0) gets; unset: every agent gets every tool.
  std::function<bool(std::size_t index, const tool& t)> tools_for;
  agent_limits limits;  ///< the loop's limits (turns, tool calls, timeouts, result size)
  /// How the decisions become one answer. vote and select ask every agent the whole question
  /// (self-consistency) unless a plan says otherwise: no decomposition call.
  combine_mode combine = combine_mode::synthesize;
  /// The verify stage, before combining: a judge grades each decision (pass /
  /// needs_improvement / fail) and an agent that failed revises once per round, seeing only the
  /// critique and the other decisions. Rounds: 0-3.
  bool verify = false;
  int verify_rounds = 1;
  /// A resumed run's recorded steps (run_replay.hpp): its plan is taken instead of decomposing,
  /// its finished agents are replayed (their last events carry the recorded reports, no model
  /// is called), only the rest run; the recorded spend counts against `budget`.
  std::shared_ptr<const recorded_run> replay;
};

/// The models a run uses and the executor it runs on. Models are referenced, not owned.
/// Many engines may live in one process; an engine holds no per-run state.
class engine {
 public:
  /// One model decomposes, answers and synthesizes.
  engine(boost::asio::any_io_executor ex, model& everything)
      : engine(std::move(ex), everything, everything, everything) {}
  engine(boost::asio::any_io_executor ex, model& decomposer, model& worker, model& synthesizer)
      : executor_(std::move(ex)),
        decomposer_(decomposer),
        worker_(worker),
        synthesizer_(synthesizer) {}

  /// Where runs, agents and bookkeeping execute: an io_context's executor (each agent and
  /// each run gets its own strand on it, so a multi-threaded io_context is safe; see
  /// set_single_threaded).
  boost::asio::any_io_executor get_executor() const noexcept { return executor_; }
  model& decomposer() const noexcept { return decomposer_; }
  model& worker() const noexcept { return worker_; }
  model& synthesizer() const noexcept { return synthesizer_; }

  /// The host's promise that its io_context runs on one thread (as the CLI's, made with a
  /// concurrency hint of 1). Agents then run on the executor itself rather than on a strand
  /// each, which spares every agent a strand and its hops (about 1 KiB and some CPU each in
  /// heavy mode). Off by default: on an io_context run by several threads, agents need them.
  void set_single_threaded(bool yes) noexcept { single_threaded_ = yes; }
  bool single_threaded() const noexcept { return single_threaded_; }

 private:
  bool single_threaded_ = false;
  boost::asio::any_io_executor executor_;
  model& decomposer_;
  model& worker_;
  model& synthesizer_;
};

using ask_signature = void(boost::system::error_code, run_report);

using plan_signature = void(boost::system::error_code, plan, run_report);

namespace detail {
void start_plan(engine& e, std::string question, ask_options opts,
                boost::asio::any_completion_handler<plan_signature> handler);
void start_ask(engine& e, std::string question, ask_options opts, std::optional<plan> given,
               boost::asio::any_completion_handler<ask_signature> handler);
}  // namespace detail

/// Asks `question` in heavy mode. Completes with (error_code, run_report):
///  - success: report.answer is the synthesized answer; report.degraded says some decisions
///    were missing or synthesis failed (the answer then lists the decisions it has). With one
///    agent (`agents` = 1) there is no decomposition and no synthesis: its answer is the answer;
///  - error::all_agents_failed: no agent answered (each entry says why);
///  - error::auth_failed: the provider refused the credentials; the run stopped at the first
///    such reply (report.stop_note says what the provider said);
///  - error::budget_exhausted: the budget was spent before any decision;
///  - error::cancelled: the caller cancelled; the report holds what finished.
/// The report always has one entry per sub-question. It is the fold of the run's events (see
/// report_fold.hpp): an observer that keeps them can rebuild it exactly.
///
/// Cancellation: terminal, through the token's cancellation slot; it cancels every running
/// agent and timer, and completes promptly. Works with any completion token (use_awaitable,
/// deferred, use_future, a callback). The engine and its models must outlive the operation.
template <typename CompletionToken>
auto async_ask(engine& e, std::string question, ask_options opts, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, ask_signature>(
      [&e](auto handler, std::string q, ask_options o) {
        detail::start_ask(e, std::move(q), std::move(o), std::nullopt,
                          boost::asio::any_completion_handler<ask_signature>(std::move(handler)));
      },
      token, std::move(question), std::move(opts));
}

/// Only the first step of async_ask: the plan the decomposer makes for `question` (or the one
/// async_ask would run without one: the question N times for vote and select, or once).
/// Completes with (error_code, plan, run_report): the report holds the decomposition's
/// accounting and note (a fallback to one subtask is a plan, with the note saying why);
/// error::auth_failed and the like when the call could not be made, error::cancelled.
template <typename CompletionToken>
auto async_plan(engine& e, std::string question, ask_options opts, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, plan_signature>(
      [&e](auto handler, std::string q, ask_options o) {
        detail::start_plan(e, std::move(q), std::move(o),
                           boost::asio::any_completion_handler<plan_signature>(std::move(handler)));
      },
      token, std::move(question), std::move(opts));
}

/// Runs a plan (from a file, or edited from a decomposer's): no decomposition call. The plan's
/// combine mode and verify stage override the options'. Completes as async_ask does, and also
/// with error::invalid_plan (report.stop_note names the offending ids) before any call when the
/// plan does not validate. A subtask runs as soon as its dependencies are done; one whose
/// dependency failed is `skipped` unless that dependency is optional; subtasks sharing an
/// exclusive resource never run at once.
template <typename CompletionToken>
auto async_run_plan(engine& e, plan p, ask_options opts, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, ask_signature>(
      [&e](auto handler, plan given, ask_options o) {
        std::string q = given.question;
        detail::start_ask(e, std::move(q), std::move(o), std::move(given),
                          boost::asio::any_completion_handler<ask_signature>(std::move(handler)));
      },
      token, std::move(p), std::move(opts));
}

}  // namespace conclave
