// What the MCP tests share: where the pinned npm servers live, and whether a server process
// is really gone.
#pragma once

#include <filesystem>
#include <string>
#include <sys/wait.h>

namespace conclave::test {

/// The entry script of the npm package @modelcontextprotocol/`package`, installed by npm ci
/// under `npm_dir`.
inline std::string mcp_package_entry(const std::string& npm_dir, const std::string& package) {
  return npm_dir + "/node_modules/@modelcontextprotocol/" + package + "/dist/index.js";
}

/// Reaped: no such process any more (not even a zombie waiting for us).
inline bool gone(int pid) {
  return pid > 0 && !std::filesystem::exists("/proc/" + std::to_string(pid)) &&
         ::waitpid(pid, nullptr, WNOHANG) == -1;
}

}  // namespace conclave::test
