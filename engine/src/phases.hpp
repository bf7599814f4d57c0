// The phases of a run, each a coroutine over the shared run_context: plan (decompose, or take a
// given plan), execute the plan (agents as their dependencies finish), combine (verify, then
// synthesize, vote or select).
#pragma once

#include "run_context.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>

#include <exception>
#include <optional>

namespace conclave::detail {

/// The plan the run executes: `given` (already validated), one subtask on the question, the
/// whole question N times (vote, select), or the decomposer's plan (one subtask on the question
/// when that fails). Fills head's plan part and emits `decomposed` with it.
boost::asio::awaitable<plan> make_plan(std::shared_ptr<run_context> ctx, std::optional<plan> given);

/// Runs every subtask as an agent once its dependencies are done (no supersteps), at most
/// max_concurrency at once, never two holding one exclusive resource; emits each agent's last
/// event with its report. Fills head's fan-out wall and agent time sum.
boost::asio::awaitable<void> execute_plan(std::shared_ptr<run_context> ctx, const plan& p);

/// The verify stage when the plan asks for it, then the plan's combine mode, into head's
/// combine part (the caller emits `combined` once it has said why when nothing answered).
boost::asio::awaitable<void> combine(std::shared_ptr<run_context> ctx, const plan& p);

/// The verify stage: per round, a judge grades each decision still in question (`judged`
/// events), and each that failed is revised once by its agent, seeing only the critique and the
/// other decisions (a second last event carries the revised report).
boost::asio::awaitable<void> verify(std::shared_ptr<run_context> ctx, const plan& p);

/// What one agent is given: its subtask and what the run decided for it.
struct agent_task {
  std::size_t index = 0;
  std::string id;
  std::string prompt;
  std::string role;                          ///< extra system text; empty: none
  std::string model;                         ///< the model it starts on
  std::vector<std::shared_ptr<tool>> tools;  ///< the tools it may call
  std::vector<std::string> exclusive;        ///< resources its subtask holds
  std::vector<std::string> depends_on;       ///< ids, for its report
  std::string given;                         ///< its dependencies' decisions (bounded); empty: none
  /// A revision (verify stage): the whole conversation to send, instead of prompt + given.
  std::vector<chat_message> revision;
};

using agent_signature = void(std::exception_ptr, agent_report);

/// One agent: a function of its task and the run's narrow services (admit, charge, emit, stop)
/// to its report. `queued_at`: when it became ready. It runs on `ex` (agent_executor) and
/// completes on the handler's associated executor with its report, or with the exception a bug
/// threw; an expected failure is never thrown: the report says what happened. Its deadline, a
/// stop from the run (agent_stopper) and the handler's cancellation slot (terminal only; emitted
/// on the handler's executor like any Asio operation's, and passed on to `ex`) all end it
/// through one signal, with no coroutine of their own.
void start_agent(boost::asio::any_io_executor ex, std::shared_ptr<run_context> ctx, agent_task task,
                 clock::time_point queued_at,
                 boost::asio::any_completion_handler<agent_signature> handler);

template <typename CompletionToken>
auto async_run_agent(boost::asio::any_io_executor ex, std::shared_ptr<run_context> ctx,
                     agent_task task, clock::time_point queued_at, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, agent_signature>(
      [](auto handler, boost::asio::any_io_executor on, std::shared_ptr<run_context> c,
         agent_task t, clock::time_point at) {
        start_agent(std::move(on), std::move(c), std::move(t), at,
                    boost::asio::any_completion_handler<agent_signature>(std::move(handler)));
      },
      token, std::move(ex), std::move(ctx), std::move(task), queued_at);
}

/// Emits the agent's last event (completed, failed, ..., skipped) carrying its report.
void emit_agent_end(run_context& ctx, agent_report rep);

}  // namespace conclave::detail
