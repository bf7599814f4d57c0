// The Anthropic Messages wire without a socket, reply side: whole messages, stop reasons,
// usage, error bodies, rate-limit headers and their RFC 3339 resets.
#include <conclave/anthropic/rfc3339.hpp>
#include <conclave/anthropic/wire.hpp>
#include <conclave/engine/text.hpp>

#include <boost/test/unit_test.hpp>

namespace unit_test_anthropic_reply {  // file-local names stay apart in unity batches

using namespace conclave;
using namespace conclave::anthropic;
using namespace std::chrono_literals;

namespace {

std::chrono::system_clock::time_point utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  using namespace std::chrono;
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(anthropic_reply)

BOOST_AUTO_TEST_CASE(decodes_a_whole_message) {
  chat_response r;
  bool reported = false;
  BOOST_REQUIRE(!wire().decode_reply(
      R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[)"
      R"({"type":"thinking","thinking":"Hmm.","signature":"sig"},)"
      R"({"type":"text","text":"Let me check."},{"type":"server_future_block","x":1},)"
      R"({"type":"tool_use","id":"toolu_1","name":"weather","input":{"city": "Oslo"}}],)"
      R"("stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":5,)"
      R"("cache_creation_input_tokens":100,"cache_read_input_tokens":1000}})",
      r, reported));
  BOOST_CHECK_EQUAL(r.text(), "Let me check.");
  BOOST_CHECK_EQUAL(r.message.reasoning, "Hmm.");
  BOOST_CHECK_EQUAL(r.message.replay.wire, "anthropic");
  BOOST_CHECK_EQUAL(r.message.replay.json,
                    R"([{"type":"thinking","thinking":"Hmm.","signature":"sig"}])");
  const auto calls = r.message.tool_calls();
  BOOST_REQUIRE_EQUAL(calls.size(), 1u);
  BOOST_CHECK_EQUAL(calls[0].id, "toolu_1");
  BOOST_CHECK_EQUAL(calls[0].arguments, R"({"city":"Oslo"})");
  BOOST_CHECK(r.stop == stop_reason::tool_use);
  BOOST_CHECK_EQUAL(r.finish_reason, "tool_use");
  BOOST_CHECK_EQUAL(r.model, "claude-x");
  BOOST_CHECK(reported);
  BOOST_CHECK_EQUAL(r.tokens.prompt_tokens, 1110);
  BOOST_CHECK_EQUAL(r.tokens.completion_tokens, 5);
  BOOST_CHECK_EQUAL(r.tokens.cache_write_tokens, 100);
  BOOST_CHECK_EQUAL(r.tokens.cache_read_tokens, 1000);
}

BOOST_AUTO_TEST_CASE(stop_reasons_of_a_whole_message) {
  const struct {
    const char* word;
    stop_reason stop;
  } cases[] = {{"end_turn", stop_reason::end},      {"stop_sequence", stop_reason::end},
               {"max_tokens", stop_reason::length}, {"refusal", stop_reason::content_filter},
               {"pause_turn", stop_reason::paused}, {"tool_use", stop_reason::tool_use},
               {"brand_new", stop_reason::unknown}};
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("stop_reason: " << c.word) {
      chat_response r;
      BOOST_REQUIRE(!decode_message(
          std::string(R"({"type":"message","content":[],"stop_reason":")") + c.word + "\"}", r));
      BOOST_CHECK(r.stop == c.stop);
      BOOST_CHECK_EQUAL(r.finish_reason, c.word);
    }
  }
  // Tool calls decide, whatever the word.
  chat_response r;
  BOOST_REQUIRE(!decode_message(
      R"({"content":[{"type":"tool_use","id":"t","name":"f","input":{}}],"stop_reason":"end_turn"})",
      r));
  BOOST_CHECK(r.stop == stop_reason::tool_use);
}

BOOST_AUTO_TEST_CASE(whole_messages_that_are_refused_or_errors) {
  for (const char* body :
       {"", "{", "[]", "<html>502</html>", R"({"type":"message"})", R"({"content":"hi"})",
        R"({"content":[7]})", R"({"content":[{"type":"tool_use","id":"t","input":{}}]})"}) {
    BOOST_TEST_CONTEXT("body: " << body) {
      chat_response r;
      BOOST_CHECK(decode_message(body, r) == error::bad_response);
      BOOST_CHECK(!r.diag.message.empty());
    }
  }
  chat_response err;
  bool reported = true;
  BOOST_CHECK(wire().decode_reply(
                  R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
                  err, reported) == error::overloaded);
  BOOST_CHECK(!reported);
  BOOST_CHECK_EQUAL(err.diag.message, "Overloaded");
  BOOST_CHECK_EQUAL(err.diag.provider_code, "overloaded_error");

  std::string many = R"({"content":[)";
  for (int i = 0; i < 129; ++i) many += std::string(i ? "," : "") + R"({"type":"text","text":"x"})";
  chat_response big;
  BOOST_CHECK(decode_message(many + "]}", big) == error::bad_response);
}

BOOST_AUTO_TEST_CASE(usage_that_cannot_be_believed_is_not_reported) {
  for (const char* usage :
       {R"({"input_tokens":-1,"output_tokens":2})", R"({"input_tokens":1,"output_tokens":-2})",
        R"({"input_tokens":1.0,"output_tokens":2})", R"({"input_tokens":"1","output_tokens":2})",
        R"({"output_tokens":2})", R"({"input_tokens":1e30,"output_tokens":2})", "null", "[]"}) {
    BOOST_TEST_CONTEXT("usage: " << usage) {
      chat_response r;
      bool reported = true;
      BOOST_CHECK(
          !decode_message(std::string(R"({"content":[],"usage":)") + usage + "}", r, &reported));
      BOOST_CHECK(!reported);
      BOOST_CHECK_EQUAL(r.tokens.total(), 0);
    }
  }
  // Huge counts are pinned, and sums saturate instead of overflowing.
  chat_response r;
  bool reported = false;
  BOOST_CHECK(!decode_message(
      R"({"content":[],"usage":{"input_tokens":18446744073709551615,"output_tokens":1,)"
      R"("cache_read_input_tokens":9223372036854775807,"cache_creation_input_tokens":-4}})",
      r, &reported));
  BOOST_CHECK(reported);
  BOOST_CHECK_EQUAL(r.tokens.prompt_tokens, INT64_MAX);
  BOOST_CHECK_EQUAL(r.tokens.cache_write_tokens, 0);  // not a count: not believed
  BOOST_CHECK_EQUAL(r.tokens.total(), INT64_MAX);
}

BOOST_AUTO_TEST_CASE(error_bodies) {
  const struct {
    unsigned status;
    const char* body;
    error expected;
    const char* code;
    const char* message;
  } cases[] = {
      {529,
       R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"})",
       error::overloaded, "overloaded_error", "Overloaded"},
      {500, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
       error::overloaded, "overloaded_error", "Overloaded"},
      {429, R"({"type":"error","error":{"type":"rate_limit_error","message":"Slow down"}})",
       error::rate_limited, "rate_limit_error", "Slow down"},
      {401, R"({"type":"error","error":{"type":"authentication_error","message":"bad key"}})",
       error::auth_failed, "authentication_error", "bad key"},
      {400, R"({"type":"error","error":{"type":"invalid_request_error","message":"max_tokens"}})",
       error::bad_request, "invalid_request_error", "max_tokens"},
      {500, R"({"type":"error","error":{"type":"api_error","message":"oops"}})",
       error::provider_error, "api_error", "oops"},
      {502, "<html>Bad Gateway</html>", error::provider_error, "", "<html>Bad Gateway</html>"},
      {503, R"({"error":"not an object"})", error::overloaded, "", R"({"error":"not an object"})"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("body: " << c.body) {
      diagnostics d;
      BOOST_CHECK(wire().decode_error(c.status, c.body, d) == c.expected);
      BOOST_CHECK_EQUAL(d.provider_code, c.code);
      BOOST_CHECK_EQUAL(d.message, c.message);
    }
  }
  // Raw bodies are cut short, valid UTF-8.
  diagnostics big;
  decode_error_body(500, std::string(511, 'x') + "\xE2\x82\xAC" + std::string(600, 'y') + "\xff",
                    big);
  BOOST_CHECK_EQUAL(big.message, std::string(511, 'x') + "...");
  BOOST_CHECK(text::is_valid_utf8(big.message));
}

BOOST_AUTO_TEST_CASE(rate_limit_headers_with_rfc3339_resets) {
  const auto now = utc(2026, 11, 26, 3, 4, 0);
  http::header_fields h;
  h.set("anthropic-ratelimit-requests-limit", "50");
  h.set("anthropic-ratelimit-requests-remaining", "49");
  h.set("anthropic-ratelimit-requests-reset", "2026-11-26T03:04:05Z");
  h.set("anthropic-ratelimit-tokens-limit", "90000");
  h.set("anthropic-ratelimit-tokens-remaining", "0");
  h.set("anthropic-ratelimit-tokens-reset", "2026-11-26T03:05:00.5+00:00");
  h.set("anthropic-ratelimit-input-tokens-remaining", "1");  // tokens decides when present
  const auto info = wire().read_limits(h, now);
  BOOST_CHECK_EQUAL(*info.limit_requests, 50);
  BOOST_CHECK_EQUAL(*info.remaining_requests, 49);
  BOOST_CHECK_EQUAL(info.reset_requests->count(), 5000);
  BOOST_CHECK_EQUAL(*info.limit_tokens, 90000);
  BOOST_CHECK_EQUAL(*info.remaining_tokens, 0);
  BOOST_CHECK_EQUAL(info.reset_tokens->count(), 60'500);

  // No `tokens` family: input or output, whichever has less left, with its limit and reset.
  http::header_fields split;
  split.set("anthropic-ratelimit-input-tokens-limit", "40000");
  split.set("anthropic-ratelimit-input-tokens-remaining", "39000");
  split.set("anthropic-ratelimit-input-tokens-reset", "2026-11-26T03:04:01Z");
  split.set("anthropic-ratelimit-output-tokens-limit", "8000");
  split.set("anthropic-ratelimit-output-tokens-remaining", "100");
  split.set("anthropic-ratelimit-output-tokens-reset", "2026-11-26T04:04:00+01:00");  // = now
  split.set("anthropic-ratelimit-requests-reset", "2026-11-26T03:03:00Z");            // past: 0
  const auto s = decode_rate_limits(split, now);
  BOOST_CHECK_EQUAL(*s.limit_tokens, 8000);
  BOOST_CHECK_EQUAL(*s.remaining_tokens, 100);
  BOOST_CHECK_EQUAL(s.reset_tokens->count(), 0);
  BOOST_CHECK_EQUAL(s.reset_requests->count(), 0);
  BOOST_CHECK(!s.limit_requests);

  http::header_fields input_only;
  input_only.set("anthropic-ratelimit-input-tokens-remaining", "7");
  input_only.set("anthropic-ratelimit-output-tokens-limit", "8000");
  BOOST_CHECK_EQUAL(*decode_rate_limits(input_only, now).remaining_tokens, 7);

  http::header_fields bad;
  bad.set("anthropic-ratelimit-requests-remaining", "lots");
  bad.set("anthropic-ratelimit-requests-reset", "in a minute");
  const auto b = decode_rate_limits(bad, now);
  BOOST_CHECK(!b.remaining_requests);
  BOOST_CHECK(!b.reset_requests);
  BOOST_CHECK(!decode_rate_limits({}, now).remaining_tokens);
}

BOOST_AUTO_TEST_CASE(rfc3339_instants) {
  const auto base = utc(2026, 11, 26, 3, 4, 5);
  const struct {
    const char* text;
    std::chrono::system_clock::time_point expected;
  } good[] = {
      {"2026-11-26T03:04:05Z", base},
      {"2026-11-26t03:04:05z", base},
      {"2026-11-26 03:04:05Z", base},
      {"2026-11-26T03:04:05.250Z", base + 250ms},
      {"2026-11-26T03:04:05.1Z", base + 100ms},
      {"2026-11-26T03:04:05.123456789Z", base + 123ms},  // past the millisecond: dropped
      {"2026-11-26T04:34:05+01:30", base},
      {"2026-11-25T22:04:05-05:00", base},
      {"2026-11-26T03:04:05+00:00", base},
      {"2026-11-26T03:04:05-00:00", base},
      {"2024-02-29T00:00:00Z", utc(2024, 2, 29, 0, 0, 0)},
      {"2000-02-29T00:00:00Z", utc(2000, 2, 29, 0, 0, 0)},
      {"2016-12-31T23:59:60Z", utc(2017, 1, 1, 0, 0, 0)},  // a leap second: the next second
      {"1970-01-01T00:00:00Z", std::chrono::system_clock::time_point{}},
      {"1969-12-31T23:59:59Z", std::chrono::system_clock::time_point{} - 1s},
  };
  for (const auto& c : good) {
    BOOST_TEST_CONTEXT("text: " << c.text) {
      const auto t = parse_rfc3339(c.text);
      BOOST_REQUIRE(t);
      BOOST_CHECK(*t == c.expected);
    }
  }
  for (const char* text : {"",
                           "2026-11-26",
                           "2026-11-26T03:04:05",
                           "2026-11-26T03:04Z",
                           "2026-11-26T03:04:05ZZ",
                           " 2026-11-26T03:04:05Z",
                           "2026-11-26T03:04:05Z ",
                           "2026-13-01T00:00:00Z",
                           "2026-00-01T00:00:00Z",
                           "2026-11-31T00:00:00Z",
                           "2023-02-29T00:00:00Z",
                           "1900-02-29T00:00:00Z",
                           "2026-11-26T24:00:00Z",
                           "2026-11-26T23:60:00Z",
                           "2026-11-26T23:59:61Z",
                           "2026-11-26T03:04:05.Z",
                           "2026-11-26T03:04:05+0100",
                           "2026-11-26T03:04:05+24:00",
                           "2026-11-26T03:04:05+01:60",
                           "2026-11-26T03:04:05+01",
                           "26-11-26T03:04:05Z",
                           "2026-1-26T03:04:05Z",
                           "2026-11-26T3:04:05Z",
                           "+2026-11-26T03:04:05Z",
                           "2026-11-26X03:04:05Z",
                           "2026-11-26T03:04:05 Z",
                           "Thu, 26 Nov 2026 03:04:05 GMT",
                           "9999-12-31T23:59:59Z",
                           "0000-01-01T00:00:00Z"}) {  // the last two: past system_clock
    BOOST_TEST_CONTEXT("text: " << text) { BOOST_CHECK(!parse_rfc3339(text)); }
  }
  BOOST_CHECK_EQUAL(rfc3339_wait("2026-11-26T03:04:05.0001Z", base)->count(), 0);
  BOOST_CHECK_EQUAL(rfc3339_wait("2026-11-26T03:04:06Z", base + 1ms)->count(), 999);
  BOOST_CHECK_EQUAL(rfc3339_wait("2026-11-26T03:04:06Z", base + 1500us)->count(), 999);  // up
  BOOST_CHECK(!rfc3339_wait("soon", base));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_anthropic_reply
