// The `tools` scenario: what conclave's agent loop costs per tool call, beside the cost of
// calling the same tool directly (the peer). The model is in-process and answers at once, and
// the tool does nothing, so what is left is conclave's own work per call: the machine, the
// turn's scheduling and timeout, events, records, and one extra model turn's bookkeeping.
#pragma once

#include <string>
#include <vector>

namespace conclave::bench {

struct tool_figure {
  std::string what;    ///< "in-process tool", "MCP over stdio"
  int calls = 0;       ///< tool calls measured
  double loop_us = 0;  ///< per call, through agents' loops (wall / calls)
  double peer_us = 0;  ///< per call, the same tool invoked directly in a loop
  std::string peer;    ///< what the peer is
};

/// Runs the scenario: `agents` agents x `turns` turns x `per_turn` calls. `mcp_server`, if
/// not empty, is a command line for an MCP stdio server with an `echo` tool, measured too.
std::vector<tool_figure> run_tools_bench(int agents, int turns, int per_turn,
                                         const std::vector<std::string>& mcp_server);

}  // namespace conclave::bench
