#include "tools_setup.hpp"

#include <conclave/tools/builtin.hpp>

#include <algorithm>

namespace conclave::cli {

std::vector<std::shared_ptr<tool>> builtin_tools(boost::asio::any_io_executor ex,
                                                 const ask_settings& s) {
  std::vector<std::string> names;
  for (const auto& n : s.tools) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  if (names.empty()) return {};
  tools::builtin_options options;
  for (const auto& r : s.roots) options.roots.emplace_back(r);
  std::string why;
  auto made = tools::make_builtin_tools(names, std::move(ex), options, why);
  if (made.empty()) {
    if (why.find("root") != std::string::npos) why += " (give it one with --root DIR)";
    throw usage_error(why);
  }
  return made;
}

std::vector<mcp::server_config> mcp_servers(const ask_settings& s) {
  std::vector<mcp::server_config> servers;
  if (s.mcp_path.empty()) return servers;
  std::string why;
  if (!mcp::load_config(s.mcp_path, servers, why)) throw usage_error("--mcp: " + why);
  return servers;
}

std::string describe_tools(const std::vector<std::shared_ptr<tool>>& tools,
                           const std::vector<mcp::server_config>& servers) {
  std::string out = std::to_string(tools.size()) + " tool(s)";
  if (servers.empty()) return out;
  out += " (MCP: ";
  for (std::size_t k = 0; k < servers.size(); ++k) out += (k ? ", " : "") + servers[k].name;
  return out + ")";
}

}  // namespace conclave::cli
