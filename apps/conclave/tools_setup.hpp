// The tools `conclave ask` gives its agents: the built-ins named with --tool (file tools
// rooted with --root) and, with --mcp, every tool of the configured MCP servers.
#pragma once

#include "settings.hpp"

#include <conclave/engine/tool.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <vector>

namespace conclave::cli {

/// The built-in tools `s.tools` names, each once, in order. Throws usage_error when one
/// cannot be made (read_file / list_dir without --root).
std::vector<std::shared_ptr<tool>> builtin_tools(boost::asio::any_io_executor ex,
                                                 const ask_settings& s);

}  // namespace conclave::cli
