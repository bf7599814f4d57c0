// The tools `conclave ask` gives its agents: the built-ins named with --tool (file tools
// rooted with --root) and, with --mcp, every tool of the configured MCP servers.
#pragma once

#include "settings.hpp"

#include <conclave/engine/tool.hpp>
#include <conclave/mcp/config.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>
#include <vector>

namespace conclave::cli {

/// The built-in tools `s.tools` names, each once, in order. Throws usage_error when one
/// cannot be made (a file tool without --root: validate() says so first).
std::vector<std::shared_ptr<tool>> builtin_tools(boost::asio::any_io_executor ex,
                                                 const ask_settings& s);

/// The MCP servers of `s.mcp_path` (none without --mcp). Throws usage_error for a config
/// that cannot be read (missing, not JSON, a server with neither command nor url).
std::vector<mcp::server_config> mcp_servers(const ask_settings& s);

/// "12 tools from everything, files" for the note on stderr.
std::string describe_tools(const std::vector<std::shared_ptr<tool>>& tools,
                           const std::vector<mcp::server_config>& servers);

}  // namespace conclave::cli
