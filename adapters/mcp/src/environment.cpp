#include <conclave/mcp/environment.hpp>

#include <sys/stat.h>
#include <unistd.h>

namespace conclave::mcp {

namespace {
bool passes(std::string_view key) {
  return key == "PATH" || key == "HOME" || key == "LANG" || key == "TMPDIR" ||
         key.starts_with("LC_");
}
}  // namespace

std::vector<std::string> clean_environment(
    const char* const* parent, const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> out;
  for (const char* const* e = parent; e && *e; ++e) {
    const std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    bool overridden = false;
    for (const auto& [k, v] : extra) overridden = overridden || k == kv.substr(0, eq);
    if (passes(kv.substr(0, eq)) && !overridden) out.emplace_back(kv);
  }
  for (const auto& [k, v] : extra) out.push_back(k + "=" + v);
  return out;
}

std::string find_program(std::string_view command, const std::vector<std::string>& env) {
  if (command.empty()) return {};
  if (command.find('/') != std::string_view::npos) return std::string(command);
  std::string_view path;
  for (const std::string& kv : env)
    if (kv.starts_with("PATH=")) path = std::string_view(kv).substr(5);
  while (!path.empty() || path.data()) {
    const auto colon = path.find(':');
    std::string dir(path.substr(0, colon));
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + std::string(command);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return {};
}

}  // namespace conclave::mcp
