// One agent's state for its whole run, and the steps of its loop. The loop is a chain of
// completion handlers over this state, not a coroutine: the agent's loop, its model turn and
// their co_spawn entry held about 4 KiB of frames per agent (the reply twice among them), where
// this holds what the loop needs once.
#pragma once

#include "model_turn.hpp"
#include "phases.hpp"
#include "run_context.hpp"

#include <conclave/engine/agent_machine.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <string>

namespace conclave::detail {

/// The conversation an agent starts with (its role, its subtask and what its dependencies
/// decided; or, for a revision, the one it was given), the task's texts moved into it.
std::vector<chat_message> first_conversation(agent_task& task);

/// Shared by the agent's deadline, its stops, its caller's cancellation and each pending step;
/// touched only on its executor (the stopper's).
struct agent_run final : agent_stopper {
  /// The task is taken apart here: its identity into the report, its texts into `start`, its
  /// tools and resources kept. (Held whole, it was 264 bytes of each running agent, mostly
  /// strings emptied once their texts had moved.)
  agent_run(boost::asio::any_io_executor ex, clock::time_point when, agent_task t,
            std::shared_ptr<run_context> c, boost::asio::any_completion_handler<agent_signature> h)
      : agent_stopper(std::move(ex), when),
        tools(std::move(t.tools)),
        exclusive(std::move(t.exclusive)),
        start_model(std::move(t.model)),
        ctx(std::move(c)),
        handler(std::move(h)) {
    report.index = t.index;
    report.id = std::move(t.id);
    report.sub_question = t.prompt;
    report.depends_on = std::move(t.depends_on);
    if (t.revision.empty()) context = ctx->base_context;  // a revision carries its own
    start = first_conversation(t);
  }

  std::vector<std::shared_ptr<tool>> tools;  ///< the tools it may call
  std::vector<std::string> exclusive;        ///< resources its subtask holds
  std::string start_model;                   ///< the model it starts on (moved into `position`)
  std::vector<chat_message> start;           ///< its first conversation, until the loop begins
  agent_report report;
  std::string earlier_failure;  ///< the last failed attempt, if any
  std::shared_ptr<run_context> ctx;
  /// Empty once completed. Set only at construction: Boost 1.81's move assignment of an
  /// any_completion_handler wraps the handler in itself, recursing until the stack runs out.
  boost::asio::any_completion_handler<agent_signature> handler;

  // The loop, from loop_begin() on.
  chat_request base;  ///< settings and tools of every call; its messages are the loop's
  /// The run's shared context, sent before the loop's conversation in every request and held
  /// once for all agents (about 0.5 KiB each when every agent copied it); null for a revision,
  /// whose conversation carries its own.
  std::shared_ptr<const std::vector<chat_message>> context;
  std::optional<agent_machine> loop;
  agent_step step;
  model_position position;
  clock::time_point started;
  std::optional<model_turn> turn;  ///< the model call in progress (after `position`: it writes it)
  /// Made at the first retry; held apart (120 bytes) since most agents never retry.
  std::unique_ptr<boost::asio::steady_timer> backoff;
  bool delivered = false;  ///< the current attempt's stream reached a consumer

  boost::asio::any_io_executor executor() { return deadline.get_executor(); }
  clock::time_point due() const { return deadline.expiry(); }  ///< its deadline
  /// Its deadline, a stop or its caller cut it: no new step may start.
  bool stopping() const noexcept { return fired || caller_cancelled || cause != stop_cause::none; }
};

/// Sets up the loop (the first conversation, the request's settings) and takes its first step.
/// On the agent's executor, never inside the caller's initiating function.
void loop_begin(const std::shared_ptr<agent_run>& run);

/// The agent's last step: its report closed and handed to its handler, or `bug` (anything but
/// a cancellation between steps). Called once; a step completing later finds `ended` set.
void agent_finish(const std::shared_ptr<agent_run>& run, std::exception_ptr bug);

}  // namespace conclave::detail
