// The OpenAI adapter against servers that misbehave on purpose: echoing the Authorization
// header back wherever a provider's text can go (the mock's echo faults), reporting usage no
// server should, escaping the key in JSON. The key must come out nowhere, deltas included.
#include "model_call.hpp"
#include "run.hpp"
#include "scripted_server.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/openai_model.hpp>

#include <boost/test/unit_test.hpp>

#include <optional>

namespace integration_test_hostile_server {  // file-local names stay apart in unity batches

using namespace std::chrono_literals;
using namespace conclave;
using conclave::test::http_reply;

namespace {

const std::string key = "sk-conclave-test-0123456789abcdef";
const std::string key_tail = "0123456789abcdef";  // any of it showing is a leak too

// An openai_model with the key, against the mock (or any base URL), on its own io_context.
struct hostile {
  explicit hostile(std::optional<std::string> base_url = std::nullopt)
      : server(io.get_executor(), mock::mock_options{}), client(io.get_executor()) {
    server.start();
    openai::openai_options o;
    o.base_url = base_url.value_or(server.base_url());
    o.default_model = "mock";
    o.api_key = key;
    llm = std::make_unique<openai::openai_model>(client, o);
  }
  ~hostile() {
    server.stop();
    conclave::test::expect_no_leftover_work(io);
  }

  conclave::test::call_result ask(const std::string& model, bool stream) {
    chat_request req;
    req.model = model;
    req.stream = stream;
    req.messages = {{role::user, "Is water wet?"}};
    return conclave::test::complete(io, *llm, std::move(req));
  }

  boost::asio::io_context io;
  mock::mock_server server;
  http::client client;
  std::unique_ptr<openai::openai_model> llm;
};

// Every text the caller gets: none may hold the key or a piece of it.
void expect_no_key(const conclave::test::call_result& o) {
  const auto& r = o.response;
  const std::string words = r.text();
  for (const std::string* text : {&words, &r.finish_reason, &r.model, &r.diag.message,
                                  &r.diag.provider_code, &r.diag.request_id, &o.deltas}) {
    BOOST_CHECK_MESSAGE(text->find(key_tail) == std::string::npos, "key leaked: " << *text);
  }
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_server)

BOOST_AUTO_TEST_CASE(a_401_echoing_the_header_in_message_code_and_request_id) {
  hostile h;
  for (bool stream : {false, true}) {
    auto o = h.ask("mock-echo-401", stream);
    BOOST_CHECK(o.ec == error::auth_failed);
    expect_no_key(o);
    BOOST_CHECK_MESSAGE(has(o.response.diag.message, "Bearer [REDACTED]"), o.response.diag.message);
    BOOST_CHECK_EQUAL(o.response.diag.provider_code, "Bearer [REDACTED]");
    BOOST_CHECK_EQUAL(o.response.diag.request_id, "Bearer [REDACTED]");
  }
}

BOOST_AUTO_TEST_CASE(a_plain_text_error_body_echoing_the_header) {
  hostile h;
  for (bool stream : {false, true}) {
    auto o = h.ask("mock-echo-text", stream);
    BOOST_CHECK(o.ec == error::provider_error);
    expect_no_key(o);
    BOOST_CHECK_MESSAGE(has(o.response.diag.message, "Authorization: Bearer [REDACTED]"),
                        o.response.diag.message);
  }
}

BOOST_AUTO_TEST_CASE(an_error_object_in_a_200_echoing_the_header) {
  hostile h;
  for (bool stream : {false, true}) {
    auto o = h.ask("mock-echo-200-error", stream);
    BOOST_CHECK(o.ec == error::bad_request);
    expect_no_key(o);
    BOOST_CHECK_MESSAGE(has(o.response.diag.message, "Bearer [REDACTED]"), o.response.diag.message);
    BOOST_CHECK_EQUAL(o.response.diag.provider_code, "Bearer [REDACTED]");
  }
}

BOOST_AUTO_TEST_CASE(malformed_json_echoing_the_header) {
  hostile h;
  for (bool stream : {false, true}) {
    auto o = h.ask("mock-echo-malformed", stream);
    BOOST_CHECK(o.ec == error::bad_response);
    expect_no_key(o);
    BOOST_CHECK_MESSAGE(has(o.response.diag.message, "Bearer [REDACTED]"), o.response.diag.message);
  }
}

BOOST_AUTO_TEST_CASE(a_stream_echoing_the_header_split_across_deltas_then_in_an_error) {
  hostile h;
  auto o = h.ask("mock-echo-stream", true);
  BOOST_CHECK(o.ec == error::bad_request);
  expect_no_key(o);
  BOOST_CHECK_MESSAGE(has(o.deltas, "Bearer [REDACTED] (echoed)"), o.deltas);
  BOOST_CHECK_EQUAL(o.deltas, o.response.text());
  BOOST_CHECK(has(o.response.diag.message, "Bearer [REDACTED]"));

  auto plain = h.ask("mock-echo-stream", false);  // the JSON reply's content echoes it
  BOOST_REQUIRE(!plain.ec);
  expect_no_key(plain);
  BOOST_CHECK(has(plain.response.text(), "Bearer [REDACTED]"));
}

BOOST_AUTO_TEST_CASE(a_key_with_control_characters_never_reaches_the_wire) {
  boost::asio::io_context io;
  conclave::test::scripted_server raw(io, http_reply("200 OK", "", "{}"));
  http::client client(io.get_executor());
  openai::openai_options o;
  o.base_url = raw.base_url();
  o.api_key = "sk-conclave-test\r\nX-Injected: 1";
  BOOST_CHECK_THROW(openai::openai_model(client, o), std::invalid_argument);
  raw.stop();
  conclave::test::expect_no_leftover_work(io);
  BOOST_CHECK(raw.requests().empty());
}

BOOST_AUTO_TEST_CASE(usage_no_server_should_report_is_replaced_by_estimates) {
  const std::string json_head = "content-type: application/json\r\n";
  const std::string sse_head = "content-type: text/event-stream\r\n";
  auto completion = [](const std::string& usage) {
    return R"({"model":"raw","choices":[{"message":{"role":"assistant","content":"Some answer text."},)"
           R"("finish_reason":"stop"}],"usage":)" +
           usage + "}";
  };
  auto stream = [](const std::string& usage) {
    return "data: {\"choices\":[{\"delta\":{\"content\":\"Some answer text.\"},\"finish_reason\":"
           "\"stop\"}]}\n\ndata: {\"choices\":[],\"usage\":" +
           usage + "}\n\ndata: [DONE]\n\n";
  };
  const std::string negative = R"({"prompt_tokens":-5,"completion_tokens":-9000})";
  const std::string fractional = R"({"prompt_tokens":1.5,"completion_tokens":"7"})";
  const std::string huge =
      R"({"prompt_tokens":9223372036854775807,"completion_tokens":18446744073709551615})";
  boost::asio::io_context io;
  conclave::test::scripted_server raw(io, {http_reply("200 OK", json_head, completion(negative)),
                                           http_reply("200 OK", sse_head, stream(negative)),
                                           http_reply("200 OK", json_head, completion(fractional)),
                                           http_reply("200 OK", json_head, completion(huge))});
  {
    http::client client(io.get_executor());
    openai::openai_options o;
    o.base_url = raw.base_url();
    openai::openai_model llm(client, o);
    auto ask = [&](bool stream_it) {
      chat_request req;
      req.stream = stream_it;
      req.messages = {{role::user, "Count me, please."}};
      return conclave::test::complete(io, llm, std::move(req));
    };
    for (bool stream_it : {false, true, false}) {
      auto r = ask(stream_it);
      BOOST_REQUIRE_MESSAGE(!r.ec, r.response.diag.message);
      BOOST_CHECK_GT(r.response.tokens.prompt_tokens, 0);  // estimated, never negative
      BOOST_CHECK_GT(r.response.tokens.completion_tokens, 0);
      BOOST_CHECK_LT(r.response.tokens.completion_tokens, 100);
    }
    auto big = ask(false);  // huge but whole: kept (sums downstream saturate)
    BOOST_REQUIRE(!big.ec);
    BOOST_CHECK_EQUAL(big.response.tokens.prompt_tokens, INT64_MAX);
    BOOST_CHECK_EQUAL(big.response.tokens.completion_tokens, INT64_MAX);
    BOOST_CHECK_EQUAL(big.response.tokens.total(), INT64_MAX);
  }
  raw.stop();
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_CASE(a_key_escaped_in_json_is_redacted_once_decoded) {
  // "\u0073k-..." is "sk-..." once decoded: redacting the raw body alone would miss it.
  const std::string escaped = "\\u0073" + key.substr(1);
  const std::string body = R"({"error":{"message":"bad key Bearer )" + escaped +
                           R"(","type":"invalid_request_error","code":")" + escaped + R"("}})";
  boost::asio::io_context io;
  conclave::test::scripted_server raw(
      io, http_reply("401 Unauthorized", "content-type: application/json\r\n", body));
  {
    http::client client(io.get_executor());
    openai::openai_options o;
    o.base_url = raw.base_url();
    o.api_key = key;
    openai::openai_model llm(client, o);
    chat_request req;
    req.messages = {{role::user, "hi"}};
    auto r = conclave::test::complete(io, llm, std::move(req));
    BOOST_CHECK(r.ec == error::auth_failed);
    expect_no_key(r);
    BOOST_CHECK_EQUAL(r.response.diag.message, "bad key Bearer [REDACTED]");
    BOOST_CHECK_EQUAL(r.response.diag.provider_code, "[REDACTED]");
  }
  raw.stop();
  conclave::test::expect_no_leftover_work(io);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_hostile_server
