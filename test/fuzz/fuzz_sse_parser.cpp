// libFuzzer target: the SSE parser. Differential: the same bytes fed whole, split at a point
// the input chooses, and one byte at a time must give the same events, partial state and
// failure; nothing may crash or grow past the size limit.
#include <conclave/http/sse_parser.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

using conclave::http::sse_event;
using conclave::http::sse_parser;

namespace {

bool same(const std::vector<sse_event>& a, const std::vector<sse_event>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].type != b[i].type || a[i].data != b[i].data || a[i].id != b[i].id) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(bytes), size);
  constexpr std::size_t limit = 4096;  // small, so the limit path is reached too

  sse_parser whole(limit);
  std::vector<sse_event> a;
  whole.feed(input, a);

  const std::size_t cut = size == 0 ? 0 : bytes[0] % (size + 1);
  sse_parser split(limit);
  std::vector<sse_event> b;
  split.feed(input.substr(0, cut), b);
  split.feed(input.substr(cut), b);

  sse_parser trickle(limit);
  std::vector<sse_event> c;
  for (std::size_t i = 0; i < size; ++i) trickle.feed(input.substr(i, 1), c);

  // Once failed, the rest is ignored: events before the failure may differ by where the
  // limit struck, so compare only streams that stayed within it.
  if (!whole.failed() && !split.failed() && !trickle.failed()) {
    if (!same(a, b) || !same(a, c)) std::abort();
    if (whole.has_partial_event() != split.has_partial_event() ||
        whole.has_partial_event() != trickle.has_partial_event()) {
      std::abort();
    }
  }
  for (const auto& e : a) {
    if (e.data.size() > limit) std::abort();
  }
  return 0;
}
