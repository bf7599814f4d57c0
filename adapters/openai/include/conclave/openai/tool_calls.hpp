// Tool calls arriving in pieces in an OpenAI-compatible stream, put back together with no I/O.
//
// `choices[0].delta.tool_calls` carries fragments: the first names the call (`id`, and usually
// `function.name`), later ones append to `function.arguments`. OpenAI numbers them by `index`;
// some compatible servers send no index, and then a new `id` opens a call and an
// arguments-only fragment continues the last one. A name may come late. Arguments are parsed
// once, at the end: "" means {}, a JSON object is re-serialised compactly, anything else is
// passed on as sent (the agent answers it with an error result, so the model can correct it).
#pragma once

#include <conclave/engine/chat.hpp>

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace conclave::openai {

class tool_call_accumulator {
 public:
  /// Bounds on what a server may make us hold (a hostile stream could grow forever).
  static constexpr std::size_t max_calls = 128;
  static constexpr std::size_t max_argument_bytes = 1 << 20;

  /// One element of a delta's `tool_calls` array. False (and `why`) when it cannot be one.
  /// `position`, if given, receives which call (0-based, in opening order) it belongs to.
  bool add(const boost::json::value& fragment, std::string& why, std::size_t* position = nullptr);

  /// The calls, in the order they were opened, each with a name. False (and `why`) when one
  /// has no name.
  bool finish(std::vector<tool_call>& out, std::string& why) const;

  bool empty() const noexcept { return calls_.empty(); }

 private:
  struct partial {
    std::int64_t index = -1;  // -1: the server sent none
    tool_call call;
    std::string arguments;  // as received, pieces appended
  };
  std::vector<partial> calls_;
};

/// The `tool_calls` array of a whole (non-streamed) assistant message, checked the same way.
bool decode_tool_calls(const boost::json::value& array, std::vector<tool_call>& out,
                       std::string& why);

}  // namespace conclave::openai
