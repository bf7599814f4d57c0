// libFuzzer target: the OpenAI reply parsers. The input is tried as a whole JSON completion,
// as an error body, and as an SSE stream through the stream decoder. Each must end in a
// result or a typed error, never a crash; a success must carry what a success promises.
#include <conclave/openai/wire.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

using namespace conclave;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(bytes), size);

  chat_response completion;
  const auto ec = openai::decode_chat_completion(input, completion);
  if (ec && ec.category() != error_category()) std::abort();  // always a typed conclave error
  if (!ec && (completion.tokens.prompt_tokens < 0 || completion.tokens.completion_tokens < 0)) {
    std::abort();
  }

  diagnostics diag;
  openai::decode_error_body(input, diag);
  if (diag.message.size() > 4096) std::abort();  // cut short for the diagnostics

  http::sse_parser parser(1 << 16);
  std::vector<http::sse_event> events;
  parser.feed(input, events);
  openai::stream_decoder decoder;
  std::string text;
  for (const auto& e : events) {
    std::string delta;
    const auto step = decoder.on_event(e, delta);
    text += delta;
    if (step == openai::stream_decoder::step::failed) {
      if (!decoder.failure_code()) std::abort();
      break;
    }
    if (step == openai::stream_decoder::step::done) break;
  }
  return 0;
}
