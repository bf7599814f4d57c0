// The three phases of a run, each a coroutine over the shared run_context.
#pragma once

#include "run_context.hpp"

#include <boost/asio/awaitable.hpp>

namespace conclave::detail {

/// Fills report.sub_questions and report.agents (one entry each), or falls back to one agent
/// on the question; emits `decomposed`.
boost::asio::awaitable<void> decompose(std::shared_ptr<run_context> ctx);

/// Runs every agent concurrently (capped), each racing its deadline; fills report.agents.
boost::asio::awaitable<void> fan_out(std::shared_ptr<run_context> ctx);

/// Merges the decisions into report.answer, or a degraded answer when the call fails.
boost::asio::awaitable<void> synthesize(std::shared_ptr<run_context> ctx);

/// One agent: waits for a slot, calls the worker model, records the outcome in its entry.
boost::asio::awaitable<void> run_agent(std::shared_ptr<run_context> ctx, std::size_t index);

}  // namespace conclave::detail
