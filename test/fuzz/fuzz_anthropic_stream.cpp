// libFuzzer target: the Anthropic reply parsers. The input is fed through the SSE parser into
// the stream decoder, and tried as a whole message, as an error body and as a rate-limit
// reset. Each must end in a result or a typed error, never a crash; a success must carry what
// a success promises, and what the decoder built must go back out in the next request.
#include <conclave/anthropic/rfc3339.hpp>
#include <conclave/anthropic/wire.hpp>
#include <conclave/engine/text.hpp>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

using namespace conclave;

static void check(bool ok) {
  if (!ok) std::abort();
}

// What a successful reply promises: named calls with arguments that are valid UTF-8 and not
// empty, stop tool_use when there are calls, counts never negative, replay a JSON array, and
// a message the next request can carry.
static void check_reply(const chat_response& r) {
  const auto calls = r.message.tool_calls();
  for (const auto& c : calls) {
    check(!c.name.empty() && !c.arguments.empty() && text::is_valid_utf8(c.arguments));
  }
  check(calls.empty() || r.stop == stop_reason::tool_use);
  check(r.tokens.prompt_tokens >= 0 && r.tokens.completion_tokens >= 0 &&
        r.tokens.cache_read_tokens >= 0 && r.tokens.cache_write_tokens >= 0);
  if (!r.message.replay.json.empty()) {
    boost::system::error_code ec;
    check(boost::json::parse(r.message.replay.json, ec).is_array() && !ec);
  }
  chat_request next;
  next.messages = {{role::user, "go"}, r.message};
  boost::system::error_code ec;
  boost::json::parse(anthropic::encode_messages_request(next, "m", true), ec);
  check(!ec);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(bytes), size);
  const auto& codec = anthropic::wire();

  chat_response message;
  bool reported = false;
  const auto ec = codec.decode_reply(input, message, reported);
  check(!ec || ec.category() == error_category());  // always a typed conclave error
  if (!ec) check_reply(message);

  diagnostics diag;
  const unsigned status = size > 0 ? 400u + bytes[0] % 200u : 500u;
  check(codec.decode_error(status, input, diag).category() == error_category());
  check(diag.message.size() <= 4096);  // cut short for the diagnostics

  const auto now = std::chrono::system_clock::now();
  const std::string_view line = input.substr(0, input.find('\n'));
  if (const auto wait = anthropic::rfc3339_wait(line, now)) check(wait->count() >= 0);
  // A header value as a parsed reply could hold one: no control characters.
  if (std::none_of(line.begin(), line.end(), [](char c) { return c >= 0 && c < 0x20; })) {
    http::header_fields headers;
    headers.set("anthropic-ratelimit-input-tokens-reset", line);
    headers.set("anthropic-ratelimit-input-tokens-remaining", line);
    const auto limits = codec.read_limits(headers, now);
    if (limits.reset_tokens) check(limits.reset_tokens->count() >= 0);
  }

  http::sse_parser parser(1 << 16);
  std::vector<http::sse_event> events;
  parser.feed(input, events);
  const auto decoder = codec.make_stream_decoder();
  for (const auto& e : events) {
    provider::stream_pieces pieces;
    const auto step = decoder->on_event(e, pieces);
    for (const auto& f : pieces.tool_fragments) check(f.index < anthropic::max_content_blocks);
    if (step == provider::stream_decoder::step::failed) {
      check(decoder->failure_code() && !decoder->done());
      break;
    }
    if (step == provider::stream_decoder::step::done) {
      check(decoder->done());
      check_reply(decoder->response());
      break;
    }
  }
  check_reply(decoder->response());  // cut short or not, what arrived can be kept and sent
  return 0;
}
