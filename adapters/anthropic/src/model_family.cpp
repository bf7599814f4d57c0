#include <conclave/anthropic/wire.hpp>

#include <algorithm>
#include <array>

namespace conclave::anthropic {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Drops "-<tail>" when `tail_ok` accepts what follows the last '-'.
template <typename Accept>
void drop_last_part(std::string_view& name, Accept tail_ok) {
  const auto dash = name.rfind('-');
  if (dash != std::string_view::npos && tail_ok(name.substr(dash + 1))) name = name.substr(0, dash);
}

}  // namespace

std::string model_family(std::string_view name) {
  drop_last_part(name, [](std::string_view t) { return t == "latest"; });
  drop_last_part(name, [](std::string_view t) { return t.size() == 8 && all_digits(t); });
  // New-style names: claude-<tier>-<major>[-<minor>]; the minor version shares the limits.
  for (std::string_view tier : std::array<std::string_view, 3>{"opus", "sonnet", "haiku"}) {
    const std::string prefix = "claude-" + std::string(tier) + "-";
    if (!name.starts_with(prefix)) continue;
    std::string_view version = name.substr(prefix.size());
    const auto dash = version.find('-');
    if (dash != std::string_view::npos && all_digits(version.substr(0, dash)) &&
        all_digits(version.substr(dash + 1))) {
      name = name.substr(0, prefix.size() + dash);
    }
    break;
  }
  return std::string(name);
}

}  // namespace conclave::anthropic
