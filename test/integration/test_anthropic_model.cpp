// The Anthropic adapter against the mock's Messages endpoint over loopback: streamed and
// whole answers, tool use, thinking replayed with its signature, and each fault in
// Anthropic's shapes mapped to its conclave error (an overload after HTTP 200 included).
#include "model_call.hpp"
#include "run.hpp"

#include <conclave/anthropic/anthropic_model.hpp>
#include <conclave/engine/error.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>

#include <boost/test/unit_test.hpp>

namespace integration_test_anthropic_model {  // file-local names stay apart in unity batches

using namespace std::chrono_literals;
using namespace conclave;

namespace {

using outcome = conclave::test::call_result;

struct fixture {
  explicit fixture(std::string key = "", mock::mock_options mopts = default_mock())
      : server(io.get_executor(), std::move(mopts)), client(io.get_executor()) {
    server.start();
    anthropic::anthropic_options o;
    o.base_url = server.root_url();
    o.default_model = "mock";
    o.request_timeout = 10s;
    o.api_key = std::move(key);
    llm = std::make_unique<anthropic::anthropic_model>(client, o);
  }
  ~fixture() {
    server.stop();
    conclave::test::expect_no_leftover_work(io);
  }

  static mock::mock_options default_mock() {
    mock::mock_options m;
    m.drip_interval = 1ms;
    m.retry_after = 250ms;
    return m;
  }

  static chat_request question(const std::string& model, bool stream) {
    chat_request req;
    req.model = model;
    req.stream = stream;
    req.messages = {{role::system, "You are terse."}, {role::user, "Is water wet?"}};
    return req;
  }

  outcome ask(const std::string& model, bool stream) {
    return conclave::test::complete(io, *llm, question(model, stream));
  }
  outcome ask(chat_request req) { return conclave::test::complete(io, *llm, std::move(req)); }

  boost::asio::io_context io;
  mock::mock_server server;
  http::client client;
  std::unique_ptr<anthropic::anthropic_model> llm;
};

tool_spec lookup_tool() {
  return {"lookup", "Looks a word up",
          R"({"type":"object","properties":{"word":{"type":"string"}},"required":["word"]})"};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(anthropic_model)

BOOST_AUTO_TEST_CASE(answers_streamed_with_deltas_and_whole_without) {
  fixture f;
  auto streamed = f.ask("mock", true);
  BOOST_REQUIRE_MESSAGE(!streamed.ec,
                        streamed.ec.message() + ": " + streamed.response.diag.message);
  BOOST_CHECK(streamed.response.text().find("Is water wet?") != std::string::npos);
  BOOST_CHECK_EQUAL(streamed.deltas, streamed.response.text());
  BOOST_CHECK_EQUAL(streamed.response.finish_reason, "end_turn");
  BOOST_CHECK(streamed.response.stop == stop_reason::end);
  BOOST_CHECK_GT(streamed.response.tokens.prompt_tokens, 0);
  BOOST_CHECK_GT(streamed.response.tokens.completion_tokens, 0);
  BOOST_CHECK(!streamed.response.diag.request_id.empty());
  BOOST_CHECK(streamed.response.limits.remaining_requests.has_value());
  BOOST_CHECK(streamed.response.limits.reset_requests.has_value());

  // The wire streams either way; a caller that asked for no stream sees no deltas.
  auto whole = f.ask("mock", false);
  BOOST_REQUIRE_MESSAGE(!whole.ec, whole.ec.message() + ": " + whole.response.diag.message);
  BOOST_CHECK_EQUAL(whole.delta_count, 0);
  BOOST_CHECK_EQUAL(whole.response.text(), streamed.response.text());
}

BOOST_AUTO_TEST_CASE(an_overload_after_http_200_is_a_retryable_failure_never_a_success) {
  fixture f;
  auto o = f.ask("mock-error-event", true);
  BOOST_CHECK(o.ec == error::overloaded);
  BOOST_CHECK_EQUAL(o.response.diag.http_status, 200);
  BOOST_CHECK_EQUAL(o.response.diag.provider_code, "overloaded_error");
  BOOST_CHECK_GT(o.response.tokens.prompt_tokens, 0);  // a failed call still counts
}

BOOST_AUTO_TEST_CASE(statuses_in_anthropic_shapes_map_to_typed_errors) {
  fixture f;
  auto overloaded = f.ask("mock-529", true);
  BOOST_CHECK(overloaded.ec == error::overloaded);
  BOOST_CHECK_EQUAL(overloaded.response.diag.http_status, 529);
  BOOST_CHECK_EQUAL(overloaded.response.diag.provider_code, "overloaded_error");
  BOOST_CHECK(!overloaded.response.diag.message.empty());

  auto limited = f.ask("mock-429", true);
  BOOST_CHECK(limited.ec == error::rate_limited);
  BOOST_CHECK_EQUAL(limited.response.diag.provider_code, "rate_limit_error");
  BOOST_CHECK(limited.response.diag.retry_after.has_value());
  BOOST_CHECK(!limited.response.diag.request_id.empty());

  auto failed = f.ask("mock-500", false);
  BOOST_CHECK(failed.ec == error::provider_error);
  BOOST_CHECK_EQUAL(failed.response.diag.provider_code, "api_error");

  auto cut = f.ask("mock-truncated", true);
  BOOST_CHECK(cut.ec == error::stream_truncated);
  BOOST_CHECK(cut.response.diag.message.find("message_stop") != std::string::npos);

  auto malformed = f.ask("mock-malformed", true);
  BOOST_CHECK(malformed.ec == error::bad_response);
}

BOOST_AUTO_TEST_CASE(stop_reasons_come_through) {
  fixture f;
  BOOST_CHECK(f.ask("mock-length", true).response.stop == stop_reason::length);
  BOOST_CHECK(f.ask("mock-filtered", true).response.stop == stop_reason::content_filter);
}

BOOST_AUTO_TEST_CASE(tool_use_streams_its_input_in_pieces_and_comes_back_whole) {
  fixture f;
  auto req = fixture::question("mock-tools", true);
  req.tools = {lookup_tool()};
  auto o = f.ask(req);
  BOOST_REQUIRE_MESSAGE(!o.ec, o.ec.message() + ": " + o.response.diag.message);
  BOOST_CHECK(o.response.stop == stop_reason::tool_use);
  const auto calls = o.response.message.tool_calls();
  BOOST_REQUIRE(!calls.empty());
  BOOST_CHECK_EQUAL(calls[0].name, "lookup");
  BOOST_CHECK(calls[0].arguments.front() == '{');
  BOOST_CHECK(calls[0].arguments.find("\"word\"") != std::string::npos);
  BOOST_CHECK_GE(o.tool_fragment_strings.size(), 2u);  // the name, then argument pieces

  // The results go back, all in one user message, and the model answers.
  req.messages.push_back(o.response.message);
  for (const auto& c : calls) {
    req.messages.push_back(chat_message::from_result({c.id, "a word for water", false}));
  }
  auto answer = f.ask(req);
  BOOST_REQUIRE_MESSAGE(!answer.ec, answer.ec.message() + ": " + answer.response.diag.message);
  BOOST_CHECK(!answer.response.message.has_tool_calls());
}

BOOST_AUTO_TEST_CASE(thinking_goes_back_verbatim_with_its_signature) {
  fixture f;
  auto req = fixture::question("mock-think-tools", true);
  req.tools = {lookup_tool()};
  auto first = f.ask(req);
  BOOST_REQUIRE_MESSAGE(!first.ec, first.ec.message() + ": " + first.response.diag.message);
  BOOST_CHECK(!first.response.message.reasoning.empty());
  BOOST_CHECK_EQUAL(first.response.message.replay.wire, "anthropic");
  BOOST_REQUIRE(first.response.message.has_tool_calls());

  auto follow_up = req;
  follow_up.messages.push_back(first.response.message);
  for (const auto& c : first.response.message.tool_calls()) {
    follow_up.messages.push_back(chat_message::from_result({c.id, "found", false}));
  }
  auto replayed = f.ask(follow_up);
  BOOST_CHECK_MESSAGE(!replayed.ec, replayed.ec.message() + ": " + replayed.response.diag.message);

  // Without its signed thinking block the provider refuses the turn (the mock as Anthropic).
  follow_up.messages[2].replay = {};
  auto stripped = f.ask(follow_up);
  BOOST_CHECK(stripped.ec == error::bad_request);
  BOOST_CHECK_EQUAL(stripped.response.diag.http_status, 400);
}

BOOST_AUTO_TEST_CASE(the_key_never_comes_back_whatever_the_server_echoes) {
  const std::string key = "sk-ant-test-0123456789abcdef";
  fixture f(key);
  for (const char* mode : {"mock-echo-401", "mock-echo-text", "mock-echo-stream"}) {
    auto o = f.ask(mode, true);
    BOOST_TEST_CONTEXT(mode) {
      BOOST_CHECK(o.response.diag.message.find(key) == std::string::npos);
      BOOST_CHECK(o.response.diag.request_id.find(key) == std::string::npos);
      BOOST_CHECK(o.response.diag.provider_code.find(key) == std::string::npos);
      BOOST_CHECK(o.deltas.find(key) == std::string::npos);
      BOOST_CHECK(o.response.text().find(key) == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace integration_test_anthropic_model
