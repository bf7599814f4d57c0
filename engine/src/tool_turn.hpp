// The tool calls of one turn: run at most `tool_concurrency` at once, each within the tool
// timeout and the agent's deadline, with an event before and after each and a record in the
// agent's report. Refused calls (unknown tool, bad arguments) are answered without running.
#pragma once

#include "run_context.hpp"

#include <conclave/engine/agent_machine.hpp>
#include <conclave/engine/tool.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <vector>

namespace conclave::detail {

/// One result per call, in order; records go to `rep` (the agent's own report). Never throws
/// for a tool's failure: a tool that fails, times out or throws gives an `is_error` result the
/// model sees. A call to a tool that writes (tool_spec::writes) records the resource it named,
/// held when it is among `exclusive` (the subtask's declared resources).
boost::asio::awaitable<std::vector<tool_result>> run_tool_turn(
    std::shared_ptr<run_context> ctx, agent_report& rep, int turn, std::vector<planned_call> calls,
    const std::vector<std::shared_ptr<tool>>& tools, const std::vector<std::string>& exclusive,
    clock::time_point deadline);

}  // namespace conclave::detail
