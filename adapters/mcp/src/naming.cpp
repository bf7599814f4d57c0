#include <conclave/mcp/naming.hpp>

namespace conclave::mcp {

namespace {
constexpr std::size_t max_name = 64;

bool allowed(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}
}  // namespace

std::string exposed_tool_name(std::string_view server, std::string_view tool,
                              std::set<std::string>& taken) {
  std::string base = std::string(server) + "__" + std::string(tool);
  for (char& c : base)
    if (!allowed(c)) c = '_';
  if (base.size() > max_name) base.resize(max_name);
  std::string name = base;
  for (int n = 2; taken.count(name); ++n) {
    const std::string suffix = "_" + std::to_string(n);
    name = base.substr(0, max_name - suffix.size()) + suffix;
  }
  taken.insert(name);
  return name;
}

}  // namespace conclave::mcp
