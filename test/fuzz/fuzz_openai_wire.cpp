// libFuzzer target: the OpenAI reply parsers. The input is tried as a whole JSON completion,
// as an error body, and as an SSE stream through the stream decoder. Each must end in a
// result or a typed error, never a crash; a success must carry what a success promises.
#include <conclave/engine/text.hpp>
#include <conclave/openai/wire.hpp>

#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

using namespace conclave;

// What a reply's tool calls promise: a name, and arguments that are valid UTF-8 and not
// empty (an object, re-serialised; or what the model sent, for the agent to refuse).
static void check_tool_calls(const chat_response& r) {
  const auto calls = r.message.tool_calls();
  for (const auto& c : calls) {
    if (c.name.empty() || c.arguments.empty()) std::abort();
    if (!conclave::text::is_valid_utf8(c.arguments)) std::abort();
  }
  if (!calls.empty() && r.stop != stop_reason::tool_use) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(bytes), size);

  chat_response completion;
  const auto ec = openai::decode_chat_completion(input, completion);
  if (ec && ec.category() != error_category()) std::abort();  // always a typed conclave error
  if (!ec && (completion.tokens.prompt_tokens < 0 || completion.tokens.completion_tokens < 0)) {
    std::abort();
  }
  if (!ec) check_tool_calls(completion);

  diagnostics diag;
  openai::decode_error_body(input, diag);
  if (diag.message.size() > 4096) std::abort();  // cut short for the diagnostics

  http::sse_parser parser(1 << 16);
  std::vector<http::sse_event> events;
  parser.feed(input, events);
  openai::stream_decoder decoder;
  std::string text;
  for (const auto& e : events) {
    openai::stream_pieces delta;
    const auto step = decoder.on_event(e, delta);
    text += delta.text;
    if (step == openai::stream_decoder::step::failed) {
      if (!decoder.failure_code()) std::abort();
      break;
    }
    if (step == openai::stream_decoder::step::done) {
      check_tool_calls(decoder.response());
      break;
    }
  }
  return 0;
}
