// Which MCP servers to start: the common `mcpServers` config shape (Claude Desktop, Cursor...).
//
//   {"mcpServers": {
//     "files": {"command": "npx", "args": ["-y", "server"], "env": {"KEY": "value"}},
//     "remote": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer x"}}}}
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conclave::mcp {

/// One server: a program to run over stdio (`command` set) or a Streamable HTTP endpoint
/// (`url` set), never both.
struct server_config {
  std::string name;                                          ///< the key in mcpServers
  std::string command;                                       ///< program (PATH is searched)
  std::vector<std::string> args;                             ///< its arguments
  std::vector<std::pair<std::string, std::string>> env;      ///< added to the clean environment
  std::string url;                                           ///< http(s) endpoint
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra HTTP headers
};

/// Parses the config text into `out` (in the file's order). False with `why` naming the server
/// and field on: not JSON, no mcpServers object, an empty name, a server with neither or both
/// of command and url, a field of the wrong type.
bool parse_config(std::string_view json_text, std::vector<server_config>& out, std::string& why);

/// Reads and parses the file at `path`; a missing or unreadable file is an error naming it.
bool load_config(const std::string& path, std::vector<server_config>& out, std::string& why);

}  // namespace conclave::mcp
