// `conclave-mock --mcp-stdio`: a minimal MCP server over stdio with two tools, `echo` and
// `add`, for trying `conclave ask --mcp` without Node and for the bench's MCP figure.
#pragma once

#include <iosfwd>

namespace conclave::mock_app {

/// Serves newline-delimited JSON-RPC from `in` to `out` until `in` ends: initialize,
/// notifications (ignored), ping, tools/list, tools/call. Returns the exit status.
int serve_mcp_stdio(std::istream& in, std::ostream& out);

}  // namespace conclave::mock_app
