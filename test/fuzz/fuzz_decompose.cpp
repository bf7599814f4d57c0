// libFuzzer target: the decomposition parser. Whatever a model replies, the result holds at
// most `max` sub-questions, none empty, none repeated.
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
  return 0;
}
