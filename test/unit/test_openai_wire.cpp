#include <conclave/engine/text.hpp>
#include <conclave/openai/wire.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace unit_test_openai_wire {  // file-local names stay apart in unity batches

namespace json = boost::json;
using namespace conclave;
using namespace conclave::openai;

namespace {

http::sse_event data(std::string d) {
  http::sse_event e;
  e.data = std::move(d);
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(openai_wire)

BOOST_AUTO_TEST_CASE(encodes_a_request) {
  chat_request req;
  req.messages = {{role::system, "be brief"}, {role::user, "hi \"there\""}};
  req.max_tokens = 64;
  const auto v = json::parse(encode_chat_request(req, "gpt-x")).as_object();
  BOOST_CHECK_EQUAL(v.at("model").as_string(), "gpt-x");
  BOOST_CHECK_EQUAL(v.at("messages").as_array().size(), 2u);
  BOOST_CHECK_EQUAL(v.at("messages").as_array()[1].as_object().at("content").as_string(),
                    "hi \"there\"");
  BOOST_CHECK_EQUAL(v.at("max_tokens").as_int64(), 64);
  BOOST_CHECK(!v.contains("stream"));
  BOOST_CHECK(!v.contains("temperature"));

  req.stream = true;
  req.model = "other";
  const auto s = json::parse(encode_chat_request(req, "gpt-x")).as_object();
  BOOST_CHECK_EQUAL(s.at("model").as_string(), "other");
  BOOST_CHECK(s.at("stream").as_bool());
  BOOST_CHECK(s.at("stream_options").as_object().at("include_usage").as_bool());
}

BOOST_AUTO_TEST_CASE(decodes_a_completion) {
  chat_response r;
  auto ec = decode_chat_completion(
      R"({"id":"x","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}})",
      r);
  BOOST_CHECK(!ec);
  BOOST_CHECK_EQUAL(r.text(), "Hello");
  BOOST_CHECK_EQUAL(r.finish_reason, "stop");
  BOOST_CHECK_EQUAL(r.model, "gpt-4o");
  BOOST_CHECK_EQUAL(r.tokens.prompt_tokens, 9);
  BOOST_CHECK_EQUAL(r.tokens.completion_tokens, 2);
}

BOOST_AUTO_TEST_CASE(null_content_is_an_empty_answer) {
  chat_response r;
  auto ec = decode_chat_completion(
      R"({"choices":[{"message":{"role":"assistant","content":null},"finish_reason":"length"}]})",
      r);
  BOOST_CHECK(!ec);
  BOOST_CHECK_EQUAL(r.text(), "");
  BOOST_CHECK_EQUAL(r.finish_reason, "length");
}

BOOST_AUTO_TEST_CASE(malformed_completions_are_bad_responses) {
  for (const char* body : {"", "{", "[]", R"({"choices":[]})", R"({"choices":[{}]})",
                           R"({"choices":[{"message":{"content":42}}]})", "<html>502</html>"}) {
    BOOST_TEST_CONTEXT("body: " << body) {
      chat_response r;
      BOOST_CHECK(decode_chat_completion(body, r) == error::bad_response);
      BOOST_CHECK(!r.diag.message.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(error_bodies) {
  diagnostics d;
  decode_error_body(
      R"({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}})",
      d);
  BOOST_CHECK_EQUAL(d.message, "Rate limit reached");
  BOOST_CHECK_EQUAL(d.provider_code, "rate_limit_exceeded");

  diagnostics html;
  decode_error_body("<html>Bad Gateway</html>", html);
  BOOST_CHECK_EQUAL(html.message, "<html>Bad Gateway</html>");

  diagnostics big;
  decode_error_body(std::string(5000, 'x'), big);
  BOOST_CHECK_LT(big.message.size(), 600u);
}

BOOST_AUTO_TEST_CASE(rate_limit_headers) {
  http::header_fields h;
  h.set("x-ratelimit-limit-requests", "60");
  h.set("x-ratelimit-remaining-requests", "59");
  h.set("x-ratelimit-reset-requests", "1s");
  h.set("x-ratelimit-limit-tokens", "150000");
  h.set("x-ratelimit-remaining-tokens", "149984");
  h.set("x-ratelimit-reset-tokens", "6m0s");
  const auto info = decode_rate_limits(h);
  BOOST_CHECK_EQUAL(*info.limit_requests, 60);
  BOOST_CHECK_EQUAL(*info.remaining_requests, 59);
  BOOST_CHECK_EQUAL(info.reset_requests->count(), 1000);
  BOOST_CHECK_EQUAL(*info.remaining_tokens, 149984);
  BOOST_CHECK_EQUAL(info.reset_tokens->count(), 360'000);

  http::header_fields bad;
  bad.set("x-ratelimit-remaining-requests", "lots");
  BOOST_CHECK(!decode_rate_limits(bad).remaining_requests);
}

BOOST_AUTO_TEST_CASE(stream_with_usage_chunk) {
  stream_decoder d;
  openai::stream_pieces delta;
  using step = stream_decoder::step;
  BOOST_CHECK(
      d.on_event(data(R"({"model":"m","choices":[{"delta":{"role":"assistant","content":""}}]})"),
                 delta) == step::more);
  BOOST_CHECK(d.on_event(data(R"({"choices":[{"delta":{"content":"Hel"}}]})"), delta) ==
              step::more);
  BOOST_CHECK(d.on_event(data(R"({"choices":[{"delta":{"content":"lo"},"finish_reason":"stop"}]})"),
                         delta) == step::more);
  BOOST_CHECK(
      d.on_event(data(R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}})"),
                 delta) == step::more);
  BOOST_CHECK(d.on_event(data("[DONE]"), delta) == step::done);
  BOOST_CHECK_EQUAL(delta.text, "Hello");
  BOOST_CHECK(d.done());
  BOOST_CHECK(d.usage_reported());
  BOOST_CHECK_EQUAL(d.response().text(), "Hello");
  BOOST_CHECK_EQUAL(d.response().finish_reason, "stop");
  BOOST_CHECK_EQUAL(d.response().model, "m");
  BOOST_CHECK_EQUAL(d.response().tokens.completion_tokens, 2);
}

BOOST_AUTO_TEST_CASE(error_mid_stream_fails_it) {
  stream_decoder d;
  openai::stream_pieces delta;
  d.on_event(data(R"({"choices":[{"delta":{"content":"partial"}}]})"), delta);
  const auto s = d.on_event(
      data(
          R"({"error":{"message":"The server is overloaded","type":"server_error","code":"overloaded"}})"),
      delta);
  BOOST_CHECK(s == stream_decoder::step::failed);
  BOOST_CHECK(d.failure_code() == error::overloaded);
  BOOST_CHECK_EQUAL(d.failure().message, "The server is overloaded");
  BOOST_CHECK(!d.done());
  BOOST_CHECK(d.on_event(data("[DONE]"), delta) == stream_decoder::step::failed);  // sticky
}

BOOST_AUTO_TEST_CASE(malformed_chunk_fails_the_stream) {
  for (const char* chunk : {"{not json", "42", R"({"choices":"nope"})", R"({"choices":[7]})"}) {
    BOOST_TEST_CONTEXT("chunk: " << chunk) {
      stream_decoder d;
      openai::stream_pieces delta;
      BOOST_CHECK(d.on_event(data(chunk), delta) == stream_decoder::step::failed);
      BOOST_CHECK(d.failure_code() == error::bad_response);
    }
  }
}

BOOST_AUTO_TEST_CASE(usage_that_cannot_be_believed_is_not_reported) {
  auto body = [](const std::string& usage) {
    return R"({"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}],"usage":)" + usage +
           "}";
  };
  for (const char* usage :
       {R"({"prompt_tokens":-1,"completion_tokens":2})",
        R"({"prompt_tokens":1,"completion_tokens":-2})",
        R"({"prompt_tokens":1.0,"completion_tokens":2})",
        R"({"prompt_tokens":"1","completion_tokens":2})", R"({"prompt_tokens":1})",
        R"({"prompt_tokens":1e30,"completion_tokens":2})", "null", "[]"}) {
    BOOST_TEST_CONTEXT("usage: " << usage) {
      chat_response r;
      bool reported = true;
      BOOST_CHECK(!decode_chat_completion(body(usage), r, &reported));
      BOOST_CHECK(!reported);
      BOOST_CHECK_EQUAL(r.tokens.prompt_tokens, 0);
      BOOST_CHECK_EQUAL(r.tokens.completion_tokens, 0);

      stream_decoder d;
      openai::stream_pieces delta;
      d.on_event(data(R"({"choices":[],"usage":)" + std::string(usage) + "}"), delta);
      BOOST_CHECK(!d.usage_reported() || std::string(usage) == "null");
      BOOST_CHECK_GE(d.response().tokens.prompt_tokens, 0);
      BOOST_CHECK_GE(d.response().tokens.completion_tokens, 0);
    }
  }
  chat_response ok;
  bool reported = false;
  BOOST_CHECK(
      !decode_chat_completion(body(R"({"prompt_tokens":0,"completion_tokens":2})"), ok, &reported));
  BOOST_CHECK(reported);
  BOOST_CHECK_EQUAL(ok.tokens.completion_tokens, 2);

  // A believable count followed by one that is not: the last one decides.
  stream_decoder d;
  openai::stream_pieces delta;
  d.on_event(data(R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}})"), delta);
  BOOST_CHECK(d.usage_reported());
  d.on_event(data(R"({"choices":[],"usage":{"prompt_tokens":-5,"completion_tokens":2}})"), delta);
  BOOST_CHECK(!d.usage_reported());
  BOOST_CHECK_EQUAL(d.response().tokens.prompt_tokens, 0);
}

BOOST_AUTO_TEST_CASE(huge_counts_are_kept_pinned_at_int64_max) {
  chat_response r;
  bool reported = false;
  BOOST_CHECK(!decode_chat_completion(
      R"({"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":18446744073709551615}})",
      r, &reported));
  BOOST_CHECK(reported);
  BOOST_CHECK_EQUAL(r.tokens.prompt_tokens, INT64_MAX);
  BOOST_CHECK_EQUAL(r.tokens.completion_tokens, INT64_MAX);
  BOOST_CHECK_EQUAL(r.tokens.total(), INT64_MAX);
}

BOOST_AUTO_TEST_CASE(finish_reasons_are_understood) {
  chat_response r;
  decode_chat_completion(R"({"choices":[{"message":{"content":"cut"},"finish_reason":"length"}]})",
                         r);
  BOOST_CHECK(r.stop == stop_reason::length);
  chat_response none;
  decode_chat_completion(R"({"choices":[{"message":{"content":"?"}}]})", none);
  BOOST_CHECK(none.stop == stop_reason::unknown);

  stream_decoder d;
  openai::stream_pieces delta;
  d.on_event(data(R"({"choices":[{"delta":{"content":"no"}}]})"), delta);
  BOOST_CHECK(d.response().stop == stop_reason::unknown);
  d.on_event(data(R"({"choices":[{"delta":{},"finish_reason":"content_filter"}]})"), delta);
  BOOST_CHECK(d.response().stop == stop_reason::content_filter);
}

BOOST_AUTO_TEST_CASE(quoted_bodies_are_valid_utf8_cut_on_character_boundaries) {
  // 511 bytes, then a 3-byte character across the 512-byte cut, then bytes that are not UTF-8.
  const std::string body =
      std::string(511, 'x') + "\xE2\x82\xAC" + std::string(100, 'y') + "\xff\xfe";
  diagnostics d;
  decode_error_body(body, d);
  BOOST_CHECK(text::is_valid_utf8(d.message));
  BOOST_CHECK_EQUAL(d.message, std::string(511, 'x') + "...");

  diagnostics bad;
  decode_error_body("<html>\xff</html>", bad);
  BOOST_CHECK_EQUAL(bad.message, "<html>\xEF\xBF\xBD</html>");

  chat_response r;
  BOOST_CHECK(decode_chat_completion(body, r) == error::bad_response);
  BOOST_CHECK(text::is_valid_utf8(r.diag.message));

  stream_decoder s;
  openai::stream_pieces delta;
  BOOST_CHECK(s.on_event(data(body), delta) == stream_decoder::step::failed);
  BOOST_CHECK(text::is_valid_utf8(s.failure().message));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_openai_wire
