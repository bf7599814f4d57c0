// libFuzzer target: the decomposition parsers. Whatever a model replies, parse_subquestions
// gives at most `max` sub-questions, none empty, none repeated; parse_decomposition gives at
// most `max` subtasks with unique ids and non-empty prompts, whose dependencies name other
// subtasks of the plan.
#include <conclave/engine/decompose.hpp>

#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) return 0;
  const int max = 1 + bytes[0] % 16;
  const std::string_view reply(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  const auto parts = conclave::parse_subquestions(reply, max);
  if (parts.size() > static_cast<std::size_t>(max)) std::abort();
  std::set<std::string> seen;
  for (const auto& p : parts) {
    if (p.empty() || !seen.insert(p).second) std::abort();
  }

  const auto plan = conclave::parse_decomposition(reply, max);
  if (plan.subtasks.size() > static_cast<std::size_t>(max)) std::abort();
  std::set<std::string> ids;
  for (const auto& t : plan.subtasks) {
    if (t.id.empty() || t.prompt.empty() || !ids.insert(t.id).second) std::abort();
  }
  for (const auto& t : plan.subtasks) {
    for (const auto& d : t.depends_on) {
      if (d == t.id || !ids.contains(d)) std::abort();
    }
  }
  return 0;
}
