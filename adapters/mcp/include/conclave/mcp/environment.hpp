// What a stdio MCP server inherits from us: a clean environment (never the caller's secrets,
// such as OPENAI_API_KEY, unless the config names them) and where its program is. Pure.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conclave::mcp {

/// KEY=VALUE strings for the server: PATH, HOME, LANG, LC_*, TMPDIR taken from `parent`
/// (a null-terminated KEY=VALUE array such as `environ`), then `extra` from the config, which
/// may override them. Nothing else of the parent passes.
std::vector<std::string> clean_environment(
    const char* const* parent, const std::vector<std::pair<std::string, std::string>>& extra);

/// `command` itself when it holds a '/', else the first executable file named `command` in
/// the PATH entry of `env` (KEY=VALUE strings). "" when none is found.
std::string find_program(std::string_view command, const std::vector<std::string>& env);

}  // namespace conclave::mcp
